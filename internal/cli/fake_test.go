package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testToken is the bearer token the fake API accepts. It is a test value,
// not a secret.
const testToken = "hm_test_token_not_a_secret"

// testPKI is an in-memory CA and a server certificate it signed for
// 127.0.0.1. Its keys are test keys, made for each test.
type testPKI struct {
	caPEM  []byte
	server tls.Certificate
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	return newTestPKIUntil(t, time.Now().Add(time.Hour))
}

// newTestPKIUntil is newTestPKI with a server certificate that expires at
// notAfter.
func newTestPKIUntil(t testing.TB, notAfter time.Time) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hallmark cli test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err = x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-2 * time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &testPKI{
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		server: tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key},
	}
}

// writeCA writes the CA certificate to path, making its directory.
func (p *testPKI) writeCA(t testing.TB, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, p.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startTLS starts h on 127.0.0.1 over HTTPS with the PKI's server
// certificate; cfg, if not nil, sets the other TLS options.
func (p *testPKI) startTLS(t testing.TB, h http.Handler, cfg *tls.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	// Failed handshakes are what some tests are about; keep them quiet.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if cfg == nil {
		cfg = &tls.Config{}
	}
	srv.TLS = cfg
	srv.TLS.Certificates = []tls.Certificate{p.server}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// fakeAPI emulates the routes of the admin API that a test sets replies
// for, in its wire format, and records every request it gets. A request
// without the test token is refused as the real API refuses it.
type fakeAPI struct {
	srv    *httptest.Server
	caFile string

	mu       sync.Mutex
	replies  map[string]reply // guarded by mu
	received []received       // guarded by mu
}

type reply struct {
	status int
	ctype  string
	body   string
}

// received is a request as the fake API saw it.
type received struct {
	Method      string
	Path        string // escaped
	Query       string
	Auth        string
	ContentType string
	Body        string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	pki := newTestPKI(t)
	f := &fakeAPI{replies: map[string]reply{}}
	f.srv = pki.startTLS(t, http.HandlerFunc(f.serve), nil)
	f.caFile = pki.writeCA(t, filepath.Join(t.TempDir(), "ca.pem"))
	return f
}

// reply sets the JSON answer to route, "METHOD /path" or "METHOD
// /path?query"; a route with a query wins over one without.
func (f *fakeAPI) reply(route string, status int, body string) {
	f.replyRaw(route, status, "application/json", body)
}

func (f *fakeAPI) replyRaw(route string, status int, ctype, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replies[route] = reply{status, ctype, body}
}

func (f *fakeAPI) requests() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.received...)
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	route := r.Method + " " + r.URL.EscapedPath()
	f.mu.Lock()
	f.received = append(f.received, received{Method: r.Method, Path: r.URL.EscapedPath(),
		Query: r.URL.RawQuery, Auth: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Body: string(body)})
	rep, ok := f.replies[route+"?"+r.URL.RawQuery]
	if !ok {
		rep, ok = f.replies[route]
	}
	f.mu.Unlock()

	switch {
	case r.Header.Get("Authorization") != "Bearer "+testToken:
		rep = reply{http.StatusUnauthorized, "application/json",
			errJSON("token_invalid", "the token is not valid", "")}
	case !ok:
		rep = reply{http.StatusNotFound, "application/json",
			errJSON("not_found", "no such endpoint", "the API lives under /api/v1/")}
	}
	w.Header().Set("Content-Type", rep.ctype)
	w.WriteHeader(rep.status)
	_, _ = io.WriteString(w, rep.body)
}

// errJSON is an error body of the admin API.
func errJSON(code, msg, hint string) string {
	s := `{"error": {"code": "` + code + `", "message": "` + msg + `"`
	if hint != "" {
		s += `, "hint": "` + hint + `"`
	}
	return s + "}}"
}

// env is the environment of a CLI that reaches the fake API.
func (f *fakeAPI) env(t *testing.T) map[string]string {
	return map[string]string{
		"HALLMARK_SERVER":   f.srv.URL,
		"HALLMARK_TOKEN":    testToken,
		"HALLMARK_CA_FILE":  f.caFile,
		"HALLMARK_DATA_DIR": t.TempDir(),
	}
}

// call is a request the tests expect: route is "METHOD /path[?query]";
// ctypeBody, if given, is the content type and the body.
func call(route string, ctypeBody ...string) received {
	method, target, _ := strings.Cut(route, " ")
	path, query, _ := strings.Cut(target, "?")
	r := received{Method: method, Path: path, Query: query, Auth: "Bearer " + testToken}
	if len(ctypeBody) == 2 {
		r.ContentType, r.Body = ctypeBody[0], ctypeBody[1]
	}
	return r
}

// result is what a run of the CLI printed and returned.
type result struct {
	Code   int
	Stdout string
	Stderr string
}

func runCLI(ctx context.Context, env map[string]string, stdin string, args ...string) result {
	var stdout, stderr bytes.Buffer
	p := &process{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr,
		getenv: func(k string) string { return env[k] }}
	code := p.main(ctx, args)
	return result{code, stdout.String(), stderr.String()}
}

// cliCase is a run of the CLI against a fake API set up with replies.
type cliCase struct {
	name    string
	replies []fakeReply
	env     map[string]string // over the fake API's environment
	stdin   string
	args    []string
	want    result
	// requests are those the fake API must get, in order.
	requests []received
	// check, if not nil, checks what else the run did.
	check func(t *testing.T)
}

type fakeReply struct {
	route  string
	status int
	body   string
}

func runCases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeAPI(t)
			for _, r := range tc.replies {
				f.reply(r.route, r.status, r.body)
			}
			env := f.env(t)
			maps.Copy(env, tc.env)
			got := runCLI(t.Context(), env, tc.stdin, tc.args...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("hallmark %s: result (-want +got):\n%s",
					strings.Join(tc.args, " "), diff)
			}
			if diff := cmp.Diff(tc.requests, f.requests()); diff != "" {
				t.Errorf("hallmark %s: requests (-want +got):\n%s",
					strings.Join(tc.args, " "), diff)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

// Fixtures in the admin API's wire format.
const (
	tenantID      = "5f0c6a4e-8d1b-4c7e-9a2f-3b6d1e0c9a71"
	otherTenantID = "0b7e2d4c-1a9f-4e3b-8c6d-2f5a7e9b1c03"

	whoamiOperator    = `{"token_id": "tok-op", "role": "operator"}`
	whoamiTenantAdmin = `{"token_id": "tok-ta", "role": "tenant-admin", "tenant_id": "` +
		tenantID + `"}`
)
