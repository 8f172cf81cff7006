package devicecmd

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hallmark-project/hallmark/internal/agent/agenttest"
	"github.com/hallmark-project/hallmark/internal/cli"
)

// result is what one command run printed and returned.
type result struct {
	stdout, stderr string
	err            error
}

// run runs "hallmark GROUP ARGS..." with the environment variables vars and
// nothing else of the process's environment.
func run(t *testing.T, vars map[string]string, args ...string) result {
	t.Helper()
	return runCtx(context.Background(), t, vars, args...)
}

func runCtx(ctx context.Context, t *testing.T, vars map[string]string,
	args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return vars[k] }}
	cmds := agentCommands
	if args[0] == "cert" {
		cmds = certCommands
	}
	err := e.dispatch(ctx, args[0], cmds, args[1:])
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// wantUsageError checks that r failed with a usage error that says want.
func (r result) wantUsageError(t *testing.T, want string) {
	t.Helper()
	var usage *cli.UsageError
	if !errors.As(r.err, &usage) || !strings.Contains(usage.Msg, want) {
		t.Errorf("error %v, want a usage error containing %q", r.err, want)
	}
}

// wantError checks that r failed with an error containing want and a hint
// containing hint.
func (r result) wantError(t *testing.T, want, hint string) {
	t.Helper()
	var ce *cli.Error
	if !errors.As(r.err, &ce) {
		t.Fatalf("error %v (%T), want a *cli.Error", r.err, r.err)
	}
	if !strings.Contains(ce.Error(), want) {
		t.Errorf("error %q does not contain %q", ce.Error(), want)
	}
	if !strings.Contains(ce.Hint, hint) {
		t.Errorf("hint %q does not contain %q", ce.Hint, hint)
	}
}

func (r result) ok(t *testing.T) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("command failed: %v\nstderr: %s", r.err, r.stderr)
	}
}

// newDAA starts a fake DAA and writes its TLS certificate to a file.
func newDAA(t *testing.T) (*agenttest.DAA, string) {
	t.Helper()
	d, err := agenttest.NewDAA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	caFile := filepath.Join(t.TempDir(), "daa.crt")
	writeFile(t, caFile, pemCert(d.TLSCertificate.Raw))
	return d, caFile
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Register may run once per process.
var registerOnce sync.Once

// TestMainRunsCommands runs the commands through cli.Main, as package main
// does, and checks the exit statuses and the error lines.
func TestMainRunsCommands(t *testing.T) {
	registerOnce.Do(Register)
	key := filepath.Join(t.TempDir(), "device.pem")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"keygen", []string{"agent", "keygen", "--key", key}, 0, ""},
		{"id", []string{"agent", "id", key}, 2, "hallmark: error: unexpected argument"},
		{"no command", []string{"agent"}, 2, "hallmark: hint: agent commands: keygen, id"},
		{"help", []string{"agent", "-h"}, 0, ""},
		{"keygen again", []string{"agent", "keygen", "--key", key}, 1,
			"hallmark: hint: a device keeps its identity key for life"},
		{"cert", []string{"cert", "show"}, 2, `unknown cert command "show"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := cli.Main(context.Background(), tc.args, strings.NewReader(""), &stdout,
				&stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr.String(), tc.code,
					tc.stderr)
			}
		})
	}
}

func TestKeygenAndID(t *testing.T) {
	key := filepath.Join(t.TempDir(), "keys", "device.pem")
	gen := run(t, nil, "agent", "keygen", "--key", key)
	gen.ok(t)
	id := run(t, nil, "agent", "id", "--key", key)
	id.ok(t)
	if gen.stdout != id.stdout || len(strings.TrimSpace(id.stdout)) != 128 {
		t.Errorf("keygen printed %q, id printed %q; want the same device ID", gen.stdout,
			id.stdout)
	}

	run(t, nil, "agent", "keygen", "--key", key).wantError(t, "file exists", "agent id")
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "agent", "id", "--key", key).wantError(t, "mode 0644", "chmod 600 "+key)
	absent := filepath.Join(t.TempDir(), "absent.pem")
	run(t, nil, "agent", "id", "--key", absent).wantError(t, "no such file",
		"hallmark agent keygen --key "+absent)
}

func TestFlagErrors(t *testing.T) {
	key := filepath.Join(t.TempDir(), "device.pem")
	run(t, nil, "agent", "keygen", "--key", key).ok(t)
	manifest := filepath.Join(t.TempDir(), "boot.json")
	writeFile(t, manifest, bootManifest)
	out := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no agent command", []string{"agent"}, "missing agent command"},
		{"unknown agent command", []string{"agent", "boot"}, `unknown agent command "boot"`},
		{"no cert command", []string{"cert"}, "missing cert command"},
		{"keygen without key", []string{"agent", "keygen"}, "missing --key"},
		{"keygen with argument", []string{"agent", "keygen", "x", "--key", key},
			`unexpected argument "x"`},
		{"id without key", []string{"agent", "id"}, "missing --key"},
		{"unknown flag", []string{"agent", "id", "--kee", key}, "not defined: -kee"},
		{"flag without value", []string{"agent", "id", "--key"}, "needs an argument"},
		{"attest without key", []string{"agent", "attest", "--manifest", manifest,
			"--out", out}, "missing --key"},
		{"attest without manifest", []string{"agent", "attest", "--key", key,
			"--out", out}, "missing --manifest"},
		{"attest without out", []string{"agent", "attest", "--key", key,
			"--manifest", manifest}, "missing --out"},
		{"run without out", []string{"agent", "run", "--key", key,
			"--manifest", manifest}, "missing --out"},
		{"http server", []string{"agent", "attest", "--key", key, "--manifest", manifest,
			"--out", out, "--server", "http://localhost:8444"}, "invalid server URL"},
		{"inspect without file", []string{"cert", "inspect"}, "missing FILE|-"},
		{"inspect two files", []string{"cert", "inspect", "a", "b"},
			`unexpected argument "b"`},
		{"inspect bad output", []string{"cert", "inspect", "a", "--output", "yaml"},
			`unknown output format "yaml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, nil, tc.args...).wantUsageError(t, tc.want)
		})
	}
}

func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"agent", "-h"}, []string{"keygen", "attest", "run"}},
		{[]string{"cert", "help"}, []string{"inspect FILE|-"}},
		{[]string{"agent", "attest", "-h"}, []string{"--manifest FILE", "--ca-file FILE",
			"HALLMARK_DAA_SERVER", `"svn": 2`}},
		{[]string{"cert", "inspect", "--help"}, []string{"--output FORMAT"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := run(t, nil, tc.args...)
			if !errors.Is(r.err, flag.ErrHelp) {
				t.Errorf("error %v, want flag.ErrHelp", r.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("usage does not contain %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}
