package cli

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// errLines returns the error and hint lines a failed run printed.
func errLines(t *testing.T, got result) (string, string) {
	t.Helper()
	if got.Code != 1 {
		t.Errorf("exit status %d, want 1; stderr:\n%s", got.Code, got.Stderr)
	}
	errLine, rest, _ := strings.Cut(got.Stderr, "\n")
	hint, _, _ := strings.Cut(rest, "\n")
	return errLine, hint
}

func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	env := map[string]string{"HALLMARK_TOKEN": testToken, "HALLMARK_SERVER": "https://" + addr}
	errLine, hint := errLines(t, runCLI(t.Context(), env, "", "whoami"))
	if want := "hallmark: error: cannot connect to https://" + addr + ": "; !strings.HasPrefix(
		errLine, want) || !strings.Contains(errLine, "connection refused") {
		t.Errorf("error line %q, want %q... connection refused", errLine, want)
	}
	if want := "hallmark: hint: is `hallmark serve` running? check --server"; hint != want {
		t.Errorf("hint %q, want %q", hint, want)
	}
}

func TestTLSTrust(t *testing.T) {
	f := newFakeAPI(t)
	f.reply("GET /api/v1/whoami", 200, whoamiOperator)
	stranger := newTestPKI(t)
	dir := t.TempDir()
	strangerCA := stranger.writeCA(t, filepath.Join(dir, "stranger.pem"))
	emptyDataDir := t.TempDir()
	serverDataDir := filepath.Join(dir, "server-data")
	// The data directory of the server holds the certificate it serves
	// with; here the CA that signed it stands in for it.
	if err := os.MkdirAll(filepath.Join(serverDataDir, "tls"), 0o755); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(f.caFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(serverDataDir, "tls", "admin.crt"), caPEM,
		0o644); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	const unknown = "hallmark: hint: pass --ca-file (or HALLMARK_CA_FILE) with the " +
		"server's certificate; 'hallmark serve' writes it to <data-dir>/tls/admin.crt"
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		ok       bool
		wantErr  string // the error line, if !ok
		wantHint string
	}{
		{name: "CA file from flag", args: []string{"--ca-file", f.caFile}, ok: true},
		{name: "CA file from environment", env: map[string]string{"HALLMARK_CA_FILE": f.caFile},
			ok: true},
		{name: "flag wins over environment",
			env:  map[string]string{"HALLMARK_CA_FILE": strangerCA},
			args: []string{"--ca-file", f.caFile}, ok: true},
		{name: "default from data dir flag", args: []string{"--data-dir", serverDataDir},
			ok: true},
		{name: "default from data dir environment",
			env: map[string]string{"HALLMARK_DATA_DIR": serverDataDir}, ok: true},
		{name: "CA file wins over data dir", args: []string{"--ca-file", strangerCA,
			"--data-dir", serverDataDir},
			wantErr: "hallmark: error: " + f.srv.URL + " has a TLS certificate from an " +
				"unknown authority",
			wantHint: unknown},
		{name: "system roots", args: []string{"--data-dir", emptyDataDir},
			wantErr: "hallmark: error: " + f.srv.URL + " has a TLS certificate from an " +
				"unknown authority",
			wantHint: unknown},
		{name: "missing CA file", args: []string{"--ca-file", filepath.Join(dir, "none.pem")},
			wantErr: "hallmark: error: read CA file: open " + filepath.Join(dir, "none.pem") +
				": no such file or directory",
			wantHint: "hallmark: hint: check --ca-file or HALLMARK_CA_FILE"},
		{name: "CA file without PEM", args: []string{"--ca-file", notPEM},
			wantErr:  "hallmark: error: no PEM certificate in CA file " + notPEM,
			wantHint: "hallmark: hint: check --ca-file or HALLMARK_CA_FILE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HALLMARK_SERVER": f.srv.URL, "HALLMARK_TOKEN": testToken}
			maps.Copy(env, tt.env)
			got := runCLI(t.Context(), env, "", append([]string{"whoami"}, tt.args...)...)
			if tt.ok {
				if got.Code != 0 {
					t.Errorf("exit status %d, want 0; stderr:\n%s", got.Code, got.Stderr)
				}
				return
			}
			errLine, hint := errLines(t, got)
			if errLine != tt.wantErr || hint != tt.wantHint {
				t.Errorf("stderr:\n%s\nwant:\n%s\n%s", got.Stderr, tt.wantErr, tt.wantHint)
			}
		})
	}
}

func TestTLSFailures(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	caFile := pki.writeCA(t, filepath.Join(t.TempDir(), "ca.pem"))
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(whoamiOperator))
	})
	tls12 := pki.startTLS(t, ok, &tls.Config{MaxVersion: tls.VersionTLS12})
	plain := httptest.NewUnstartedServer(ok)
	plain.Config.ErrorLog = log.New(io.Discard, "", 0)
	plain.Start()
	t.Cleanup(plain.Close)
	good := pki.startTLS(t, ok, nil)
	expiredPKI := newTestPKIUntil(t, time.Now().Add(-time.Hour))
	expiredPKI.caPEM = pki.caPEM
	expired := expiredPKI.startTLS(t, ok, nil)
	_, port, err := net.SplitHostPort(good.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// The certificate names 127.0.0.1 only.
	byName := "https://localhost:" + port

	tests := []struct {
		name     string
		server   string
		wantErr  string
		wantHint string
	}{
		{"TLS 1.2 server", tls12.URL,
			"hallmark: error: the TLS handshake with " + tls12.URL + " failed: " +
				"tls: protocol version not supported",
			"hallmark: hint: check --server: the admin API speaks TLS 1.3"},
		{"plain HTTP server", "https://" + plain.Listener.Addr().String(),
			"hallmark: error: https://" + plain.Listener.Addr().String() +
				" does not speak TLS",
			"hallmark: hint: check --server: the admin API is served over https"},
		{"expired certificate", expired.URL,
			"hallmark: error: the TLS certificate of " + expired.URL + " is not valid: ",
			"hallmark: hint: check the server's certificate and this machine's clock"},
		{"host not in certificate", byName,
			"hallmark: error: the TLS certificate of " + byName +
				" is not valid for its host: ",
			"hallmark: hint: check --server: use a name the certificate holds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"HALLMARK_SERVER": tt.server, "HALLMARK_TOKEN": testToken,
				"HALLMARK_CA_FILE": caFile}
			errLine, hint := errLines(t, runCLI(t.Context(), env, "", "whoami"))
			if !strings.HasPrefix(errLine, tt.wantErr) || hint != tt.wantHint {
				t.Errorf("got:\n%s\n%s\nwant:\n%s...\n%s", errLine, hint, tt.wantErr,
					tt.wantHint)
			}
		})
	}
}

func TestConnectionSettings(t *testing.T) {
	f := newFakeAPI(t)
	f.reply("GET /api/v1/whoami", 200, whoamiOperator)
	const text = "token  tok-op\nrole   operator\n"
	const json = whoamiOperator + "\n"
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want result
	}{
		{"environment only", nil, nil, result{0, text, ""}},
		{"server flag wins", map[string]string{"HALLMARK_SERVER": "https://127.0.0.1:1"},
			[]string{"--server", f.srv.URL}, result{0, text, ""}},
		{"server with trailing slash", map[string]string{"HALLMARK_SERVER": f.srv.URL + "/"},
			nil, result{0, text, ""}},
		{"token flag wins", map[string]string{"HALLMARK_TOKEN": "hm_wrong"},
			[]string{"--token", testToken}, result{0, text, ""}},
		{"token from flag alone", map[string]string{"HALLMARK_TOKEN": ""},
			[]string{"--token=" + testToken}, result{0, text, ""}},
		{"output from environment", map[string]string{"HALLMARK_OUTPUT": "json"}, nil,
			result{0, json, ""}},
		{"output flag wins", map[string]string{"HALLMARK_OUTPUT": "json"},
			[]string{"--output", "text"}, result{0, text, ""}},
		{"wrong token", map[string]string{"HALLMARK_TOKEN": "hm_wrong"}, nil,
			result{1, "", "hallmark: error: token_invalid: the token is not valid\n" +
				"hallmark: hint: check --token or HALLMARK_TOKEN\n"}},
		{"missing token", map[string]string{"HALLMARK_TOKEN": ""}, nil,
			result{1, "", "hallmark: error: no admin token\nhallmark: hint: set " +
				"HALLMARK_TOKEN (or pass --token) to a token from 'hallmark init' or " +
				"'hallmark token create'\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := f.env(t)
			maps.Copy(env, tt.env)
			got := runCLI(t.Context(), env, "", append([]string{"whoami"}, tt.args...)...)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMissingTokenSendsNothing(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	env := f.env(t)
	delete(env, "HALLMARK_TOKEN")
	if got := runCLI(t.Context(), env, "", "tenant", "list"); got.Code != 1 {
		t.Errorf("exit status %d, want 1", got.Code)
	}
	if got := f.requests(); len(got) != 0 {
		t.Errorf("the server got %d requests without a token, want none", len(got))
	}
}

func TestAnswersThatAreNotTheAPIs(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	f.replyRaw("GET /api/v1/tenants", 502, "text/html", "<h1>bad gateway</h1>")
	f.replyRaw("GET /api/v1/whoami", 302, "text/html", "moved")
	f.replyRaw("GET /api/v1/audit", 200, "text/html", "<h1>hello</h1>")
	const hint = "hallmark: hint: check that --server is Hallmark's admin API\n"
	tests := []struct {
		args []string
		want result
	}{
		{[]string{"tenant", "list"},
			result{1, "", "hallmark: error: the server answered 502 Bad Gateway\n" + hint}},
		{[]string{"whoami"},
			result{1, "", "hallmark: error: the server answered 302 Found\n" + hint}},
		{[]string{"audit", "list"},
			result{1, "", "hallmark: error: the answer is not the expected JSON: " +
				"invalid character '<' looking for beginning of value\n" + hint}},
	}
	for _, tt := range tests {
		got := runCLI(t.Context(), f.env(t), "", tt.args...)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("hallmark %s (-want +got):\n%s", strings.Join(tt.args, " "), diff)
		}
	}
}

func TestInterrupted(t *testing.T) {
	t.Parallel()
	f := newFakeAPI(t)
	f.reply("GET /api/v1/whoami", 200, whoamiOperator)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got := runCLI(ctx, f.env(t), "", "whoami")
	want := result{1, "", "hallmark: error: interrupted: context canceled\n"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
