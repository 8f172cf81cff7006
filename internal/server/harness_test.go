package server

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store/pgtest"
)

// harness is a running Hallmark server for one test.
type harness struct {
	t        *testing.T
	sys      *system
	admin    string // https://127.0.0.1:port
	daa      string // https://127.0.0.1:port
	pki      string // http://127.0.0.1:port
	metrics  string
	client   *http.Client
	operator string // the bootstrap operator token
	dataDir  string
	args     []string
}

// backends are the databases every end-to-end test runs on.
func backends(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite" },
		"postgres": func(t *testing.T) string { return pgtest.Schema(t) },
	}
}

// start runs a server on a new installation, with the given extra flags and
// database. The server stops when the test ends.
func start(t *testing.T, database string, extra ...string) *harness {
	t.Helper()
	return newInstallation(t, database, extra...).serve(t)
}

// run opens the system with args and serves it until the test ends.
func (h *harness) run(args []string) {
	t := h.t
	t.Helper()
	sys, out, err := openArgs(args)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	h.operator = tokenRE.FindString(out)
	h.sys = sys
	addrs, err := serveSys(t, sys)
	if err != nil {
		t.Fatalf("serve: %v", err)
	}

	h.admin = "https://" + addrs["admin"]
	h.daa = "https://" + addrs["daa"]
	h.pki = "http://" + addrs["pki"]
	h.metrics = "http://" + addrs["metrics"]
	pem, err := os.ReadFile(filepath.Join(h.dataDir, AdminCertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	h.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
}

// response is a finished API call.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v.
func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// code returns the error code of an error response.
func (r response) code() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// call sends a request to the admin API with a token ("" for none). body is
// marshalled as JSON unless it is a string or []byte, sent as it is with the
// content type ctype.
func (h *harness) call(method, path, token string, body any) response {
	h.t.Helper()
	return h.callType(method, path, token, "application/json", body)
}

func (h *harness) callType(method, path, token, ctype string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.admin+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// must calls and fails the test unless the status is want.
func (h *harness) must(want int, method, path, token string, body any) response {
	h.t.Helper()
	r := h.call(method, path, token, body)
	if r.status != want {
		h.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.body, want)
	}
	return r
}

// createTenant makes a tenant and an admin token for it.
func (h *harness) createTenant(name string) (id, adminToken string) {
	h.t.Helper()
	var tn struct{ ID string }
	h.must(201, "POST", "/api/v1/tenants", h.operator, map[string]string{"name": name}).
		json(h.t, &tn)
	return tn.ID, h.newToken("tenant-admin", tn.ID)
}

func (h *harness) newToken(role, tenantID string) string {
	h.t.Helper()
	var tok struct{ Secret string }
	h.must(201, "POST", "/api/v1/tokens", h.operator,
		map[string]string{"role": role, "tenant_id": tenantID}).json(h.t, &tok)
	return tok.Secret
}

// openssl runs the openssl command and returns its combined output.
func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is missing: apt-get install openssl")
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
