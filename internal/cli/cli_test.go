package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func init() {
	// A server-side command, as package main registers serve and init.
	Register(Command{
		Name:    "test-serve",
		Summary: "a registered command of the tests",
		Run: func(_ context.Context, args []string, stdin io.Reader, stdout,
			_ io.Writer) error {
			fs := flag.NewFlagSet("test-serve", flag.ContinueOnError)
			fail := fs.String("fail", "", "fail with a hint")
			if err := ParseFlags(fs, args); err != nil {
				if errors.Is(err, flag.ErrHelp) {
					fmt.Fprintln(stdout, "usage: hallmark test-serve [--fail MSG] [ARG...]")
				}
				return err
			}
			if *fail != "" {
				return &Error{Msg: *fail, Hint: "a hint from test-serve"}
			}
			in, _ := io.ReadAll(stdin)
			fmt.Fprintf(stdout, "args %q stdin %q\n", fs.Args(), in)
			return nil
		},
	})
}

func TestHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // the first line of standard output
	}{
		{"help", []string{"help"}, "usage: hallmark <command> [arguments] [flags]"},
		{"--help", []string{"--help"}, "usage: hallmark <command> [arguments] [flags]"},
		{"-h", []string{"-h"}, "usage: hallmark <command> [arguments] [flags]"},
		{"help group", []string{"help", "tenant"},
			"usage: hallmark tenant <command> [arguments] [flags]"},
		{"group -h", []string{"device", "-h"},
			"usage: hallmark device <command> [arguments] [flags]"},
		{"help command", []string{"help", "tenant", "create"},
			"usage: hallmark tenant create NAME [flags]"},
		{"help command without subcommands", []string{"help", "whoami"},
			"usage: hallmark whoami [flags]"},
		{"command -h", []string{"device", "claim", "-h"},
			"usage: hallmark device claim ID [flags]"},
		{"command --help after arguments", []string{"device", "claim", "x", "--help"},
			"usage: hallmark device claim ID [flags]"},
		{"help registered", []string{"help", "test-serve"},
			"usage: hallmark test-serve [--fail MSG] [ARG...]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t.Context(), nil, "", tt.args...)
			first, _, _ := strings.Cut(got.Stdout, "\n")
			if got.Code != 0 || got.Stderr != "" || first != tt.want {
				t.Errorf("hallmark %s = %d, first line %q, stderr %q; want 0, %q, \"\"",
					strings.Join(tt.args, " "), got.Code, first, got.Stderr, tt.want)
			}
		})
	}
}

func TestMainExitStatus(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := Main(t.Context(), []string{"help"}, strings.NewReader(""), &stdout,
		&stderr); code != 0 || stdout.Len() == 0 || stderr.Len() != 0 {
		t.Errorf("Main(help) = %d, stdout %d bytes, stderr %q; want 0, usage, \"\"", code,
			stdout.Len(), stderr.String())
	}
	stdout.Reset()
	if code := Main(t.Context(), []string{"nope"}, strings.NewReader(""), &stdout,
		&stderr); code != 2 || stdout.Len() != 0 {
		t.Errorf("Main(nope) = %d, stdout %q; want 2, \"\"", code, stdout.String())
	}
}

func TestHelpListsCommands(t *testing.T) {
	got := runCLI(t.Context(), nil, "", "help").Stdout
	for _, want := range []string{
		"server commands:\n  test-serve  a registered command of the tests\n",
		"  device claim ID           claim a registered device for a tenant\n",
		"  ca download-proof         get a proof-of-possession certificate",
		"  catalogue publish FILE|-  publish the trusted software catalogue (JSON)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("hallmark help lacks %q; got:\n%s", want, got)
		}
	}
}

func TestCommandHelpSplitsFlags(t *testing.T) {
	got := runCLI(t.Context(), nil, "", "device", "claim", "-h").Stdout
	want := "usage: hallmark device claim ID [flags]\n\n" +
		"claim a registered device for a tenant\n\n" +
		"flags:\n" +
		"  --tenant ID\n" +
		"    \tclaim for the tenant ID; default: the token's\n\n" +
		"connection flags:\n"
	if !strings.HasPrefix(got, want) {
		t.Errorf("hallmark device claim -h:\n%s\nwant it to start with:\n%s", got, want)
	}
	for _, env := range []string{"HALLMARK_SERVER", "HALLMARK_TOKEN", "HALLMARK_CA_FILE",
		"HALLMARK_DATA_DIR", "HALLMARK_OUTPUT", "shell history"} {
		if !strings.Contains(got, env) {
			t.Errorf("hallmark device claim -h does not mention %s", env)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	const commands = "hallmark: hint: commands: test-serve, test-agent, whoami, tenant, " +
		"token, device, ca, catalogue, issuance, audit, help; run 'hallmark help'\n"
	usage := func(msg, hint string) result {
		return result{2, "", "hallmark: error: " + msg + "\nhallmark: hint: " + hint + "\n"}
	}
	runCases(t, []cliCase{
		{name: "no command", args: nil,
			want: result{2, "", "hallmark: error: no command given\n" + commands}},
		{name: "unknown command", args: []string{"frobnicate"},
			want: result{2, "", "hallmark: error: unknown command \"frobnicate\"\n" + commands}},
		{name: "flag before the command", args: []string{"--server", "x", "whoami"},
			want: usage("flag --server before the command",
				"flags follow the command, as in 'hallmark whoami --server URL'")},
		{name: "help for an unknown command", args: []string{"help", "frobnicate"},
			want: result{2, "", "hallmark: error: unknown command \"frobnicate\"\n" + commands}},
		{name: "help with too many arguments", args: []string{"help", "test-serve", "x"},
			want: usage("too many arguments to help", "run 'hallmark help'")},
		{name: "missing subcommand", args: []string{"tenant"},
			want: usage("missing tenant command", "tenant commands: create, list, show")},
		{name: "unknown subcommand", args: []string{"token", "mint"},
			want: usage(`unknown token command "mint"`,
				"token commands: create, list, revoke")},
		{name: "unknown flag", args: []string{"tenant", "list", "--colour"},
			want: usage("flag provided but not defined: -colour",
				"run 'hallmark tenant list -h' for its flags")},
		{name: "bad flag value", args: []string{"audit", "list", "--limit", "many"},
			want: usage(`invalid value "many" for flag -limit: parse error`,
				"run 'hallmark audit list -h' for its flags")},
		{name: "flag without value", args: []string{"device", "claim", "x", "--tenant"},
			want: usage("flag needs an argument: --tenant",
				"run 'hallmark device claim -h' for its flags")},
		{name: "missing argument", args: []string{"tenant", "create"},
			want: usage("missing NAME", "usage: hallmark tenant create NAME [flags]")},
		{name: "extra argument", args: []string{"device", "block", "a", "b"},
			want: usage(`unexpected argument "b"`, "usage: hallmark device block ID [flags]")},
		{name: "argument to a command without", args: []string{"whoami", "me"},
			want: usage(`unexpected argument "me"`, "usage: hallmark whoami [flags]")},
		{name: "unknown output format", args: []string{"whoami", "--output", "yaml"},
			want: usage(`unknown output format "yaml"`,
				"use --output text or --output json (or HALLMARK_OUTPUT)")},
		{name: "unknown output format from the environment", args: []string{"whoami"},
			env: map[string]string{"HALLMARK_OUTPUT": "xml"},
			want: usage(`unknown output format "xml"`,
				"use --output text or --output json (or HALLMARK_OUTPUT)")},
		{name: "plain http server", args: []string{"whoami"},
			env: map[string]string{"HALLMARK_SERVER": "http://127.0.0.1:8443"},
			want: usage(`invalid server URL "http://127.0.0.1:8443"`,
				"give an https URL such as --server https://localhost:8443")},
		{name: "server without scheme", args: []string{"whoami", "--server", "localhost:8443"},
			want: usage(`invalid server URL "localhost:8443"`,
				"give an https URL such as --server https://localhost:8443")},
		{name: "token without role", args: []string{"token", "create", "--name", "ci"},
			want: usage("missing --role",
				"pass --role operator, manufacturer, tenant-admin or tenant-reader")},
		{name: "negative device limit", args: []string{"device", "list", "--limit", "-1"},
			want: usage("--limit must not be negative", "pass --limit 1 to 1000")},
		{name: "negative audit limit", args: []string{"audit", "list", "--limit", "-5"},
			want: usage("--limit must not be negative", "pass --limit 1 to 1000")},
		{name: "negative audit cursor", args: []string{"audit", "list", "--before", "-5"},
			want: usage("--before must not be negative",
				"pass the next of a page, a sequence number")},
		{name: "batch on stdin without format", args: []string{"device", "register", "-"},
			want: usage("the format of a batch on standard input is unknown",
				"pass --format csv or --format jsonl")},
		{name: "batch of unknown extension", args: []string{"device", "register", "ids.txt"},
			want: usage("cannot tell the format of ids.txt from its name",
				"pass --format csv or --format jsonl")},
		{name: "unknown batch format",
			args: []string{"device", "register", "--format", "xml", "ids.csv"},
			want: usage(`unknown batch format "xml"`, "pass --format csv or --format jsonl")},
		{name: "unknown certificate format",
			args: []string{"ca", "download", "--format", "pkcs7"},
			want: usage(`unknown format "pkcs7"`, "pass --format pem or der")},
		{name: "der to a terminal", args: []string{"ca", "download", "--format", "der"},
			want: usage("the der format is binary",
				"pass --out FILE, or --out - to write it to standard output anyway")},
		{name: "pkcs7 to a terminal", args: []string{"ca", "download-chain", "--format=pkcs7"},
			want: usage("the pkcs7 format is binary",
				"pass --out FILE, or --out - to write it to standard output anyway")},
		{name: "proof without code", args: []string{"ca", "download-proof"},
			want: usage("missing --verification-code",
				"pass the code the service asks you to prove, --verification-code CODE")},
	})
}

func TestRegisteredCommand(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  result
	}{
		{"runs with its arguments", []string{"test-serve", "a", "--", "-b"}, "in",
			result{0, "args [\"a\" \"-b\"] stdin \"in\"\n", ""}},
		{"error with hint", []string{"test-serve", "--fail", "port in use"}, "",
			result{1, "", "hallmark: error: port in use\n" +
				"hallmark: hint: a hint from test-serve\n"}},
		{"usage error", []string{"test-serve", "--port", "1"}, "",
			result{2, "", "hallmark: error: flag provided but not defined: -port\n" +
				"hallmark: hint: run 'hallmark test-serve -h' for its flags\n"}},
		{"help", []string{"test-serve", "-h"}, "",
			result{0, "usage: hallmark test-serve [--fail MSG] [ARG...]\n", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runCLI(t.Context(), nil, tt.stdin, tt.args...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("hallmark %s (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
		})
	}
}

func TestRegisterRefuses(t *testing.T) {
	run := func(context.Context, []string, io.Reader, io.Writer, io.Writer) error { return nil }
	tests := []struct {
		name string
		cmd  Command
	}{
		{"no name", Command{Run: run}},
		{"no run", Command{Name: "test-norun"}},
		{"built-in group", Command{Name: "device", Run: run}},
		{"help", Command{Name: "help", Run: run}},
		{"twice", Command{Name: "test-serve", Run: run}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%+v) did not panic", tt.cmd)
				}
			}()
			Register(tt.cmd)
		})
	}
}

func TestReport(t *testing.T) {
	batch := &apiError{Code: "invalid_batch",
		Message: "3 lines are invalid; nothing was registered",
		Hint:    "fix or drop the lines listed and send the whole batch again",
		Lines: []lineError{{2, "invalid_device_id", "device ID must be 128 characters"},
			{7, "duplicate", "the ID is also on line 3"}},
		MoreLines: 1}
	tests := []struct {
		name     string
		err      error
		wantCode int
		want     string
	}{
		{"success", nil, 0, ""},
		{"help", flag.ErrHelp, 0, ""},
		{"wrapped help", fmt.Errorf("parse: %w", flag.ErrHelp), 0, ""},
		{"plain error", errors.New("disk full"), 1, "hallmark: error: disk full\n"},
		{"error with hint", &Error{Msg: "no admin token", Hint: "set HALLMARK_TOKEN"}, 1,
			"hallmark: error: no admin token\nhallmark: hint: set HALLMARK_TOKEN\n"},
		{"error with cause", &Error{Msg: "open batch", Err: errors.New("no such file")}, 1,
			"hallmark: error: open batch: no such file\n"},
		{"hint of a wrapped error", fmt.Errorf("tenant list: %w",
			&Error{Msg: "cannot connect", Hint: "check --server"}), 1,
			"hallmark: error: tenant list: cannot connect\nhallmark: hint: check --server\n"},
		{"hint of a cause", &Error{Msg: "claim", Err: &apiError{Code: "device_not_found",
			Message: "no such device", Hint: "register it first"}}, 1,
			"hallmark: error: claim: device_not_found: no such device\n" +
				"hallmark: hint: register it first\n"},
		{"usage error", &UsageError{Msg: "missing ID", Hint: "usage: hallmark x ID"}, 2,
			"hallmark: error: missing ID\nhallmark: hint: usage: hallmark x ID\n"},
		{"wrapped usage error", fmt.Errorf("serve: %w", &UsageError{Msg: "bad port"}), 2,
			"hallmark: error: serve: bad port\n"},
		{"API error", &apiError{Code: "forbidden", Message: "a tenant-reader token may not " +
			"do this"}, 1, "hallmark: error: forbidden: a tenant-reader token may not do this\n"},
		{"invalid batch", batch, 1,
			"hallmark: error: invalid_batch: 3 lines are invalid; nothing was registered\n" +
				"  line 2: invalid_device_id: device ID must be 128 characters\n" +
				"  line 7: duplicate: the ID is also on line 3\n" +
				"  and 1 more invalid lines\n" +
				"hallmark: hint: fix or drop the lines listed and send the whole batch again\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			code := report(&b, tt.err)
			if code != tt.wantCode {
				t.Errorf("report(%v) = %d, want %d", tt.err, code, tt.wantCode)
			}
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("report(%v) printed (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}
