package cli

import (
	"errors"
	"flag"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantTenant string
		wantAll    bool
		wantArgs   []string
	}{
		{"flags first", []string{"--tenant", "t1", "dev"}, "t1", false, []string{"dev"}},
		{"flags after", []string{"dev", "--tenant", "t1"}, "t1", false, []string{"dev"}},
		{"flags between", []string{"a", "-tenant=t1", "b", "--all"}, "t1", true,
			[]string{"a", "b"}},
		{"bool flag takes no value", []string{"--all", "dev"}, "", true, []string{"dev"}},
		{"bool flag with value", []string{"--all=false", "dev"}, "", false,
			[]string{"dev"}},
		{"value that looks like a flag", []string{"--tenant", "--all"}, "--all", false,
			nil},
		{"double dash ends flags", []string{"--all", "--", "--tenant", "x"}, "", true,
			[]string{"--tenant", "x"}},
		{"single dash is an argument", []string{"-", "--all"}, "", true, []string{"-"}},
		{"no arguments", nil, "", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("device list", flag.ContinueOnError)
			tenant := fs.String("tenant", "", "")
			all := fs.Bool("all", false, "")
			if err := ParseFlags(fs, tt.args); err != nil {
				t.Fatalf("ParseFlags(%q) = %v", tt.args, err)
			}
			if *tenant != tt.wantTenant || *all != tt.wantAll {
				t.Errorf("ParseFlags(%q): tenant %q, all %v; want %q, %v",
					tt.args, *tenant, *all, tt.wantTenant, tt.wantAll)
			}
			if diff := cmp.Diff(tt.wantArgs, fs.Args(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseFlags(%q): arguments (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestParseFlagsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want error
	}{
		{"help", []string{"x", "-h"}, flag.ErrHelp},
		{"long help", []string{"--help"}, flag.ErrHelp},
		{"unknown flag", []string{"x", "--nope"}, &UsageError{
			Msg:  "flag provided but not defined: -nope",
			Hint: "run 'hallmark device list -h' for its flags"}},
		{"missing value at the end", []string{"x", "--tenant"}, &UsageError{
			Msg:  "flag needs an argument: --tenant",
			Hint: "run 'hallmark device list -h' for its flags"}},
		{"bad bool", []string{"--all=maybe"}, &UsageError{
			Msg:  `invalid boolean value "maybe" for -all: parse error`,
			Hint: "run 'hallmark device list -h' for its flags"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("device list", flag.ContinueOnError)
			fs.String("tenant", "", "")
			fs.Bool("all", false, "")
			fs.SetOutput(io.Discard)
			err := ParseFlags(fs, tt.args)
			var usage *UsageError
			switch {
			case errors.Is(tt.want, flag.ErrHelp):
				if !errors.Is(err, flag.ErrHelp) {
					t.Errorf("ParseFlags(%q) = %v, want flag.ErrHelp", tt.args, err)
				}
			case !errors.As(err, &usage):
				t.Errorf("ParseFlags(%q) = %v, want a *UsageError", tt.args, err)
			default:
				if diff := cmp.Diff(tt.want, error(usage)); diff != "" {
					t.Errorf("ParseFlags(%q) (-want +got):\n%s", tt.args, diff)
				}
			}
		})
	}
}

func TestParseFlagsRestoresOutput(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	_ = ParseFlags(fs, []string{"--nope"})
	if fs.Output() != io.Discard {
		t.Errorf("ParseFlags changed the output of the flag set")
	}
}
