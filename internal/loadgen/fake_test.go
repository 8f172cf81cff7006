package loadgen

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/catalogue"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/evidence"
	"github.com/hallmark-project/hallmark/internal/registry"
)

// fakeOperator is the operator token of every fake server.
const fakeOperator = "hm_test_operator"

// fakeServer answers the admin API routes and the DAA protocol that loadgen
// uses, over TLS, and checks each request as strictly as the real server:
// unknown JSON fields, roles, the evidence's form and signature, the nonce,
// the catalogue, the claim, the CSR and its key binding.
type fakeServer struct {
	t      testing.TB
	srv    *httptest.Server
	caFile string // PEM of the server's TLS certificate
	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate

	// Set before the first request.
	refuseEvery int // refuse every n-th attestation with software_unknown; 0 none
	rateLimit   int // answer 429 to challenges after this many; 0 none
	failClaims  bool
	failRevoke  bool
	stale       int // appraise this many attestations against an empty catalogue

	mu         sync.Mutex
	secrets    map[string]fakeToken // by secret; guarded by mu
	tenants    map[string]string    // ID to name; guarded by mu
	devices    map[string]string    // device ID to tenant ID, "" unclaimed; guarded by mu
	nonces     map[string]string    // hex nonce to device ID; guarded by mu
	document   []byte               // the current catalogue; guarded by mu
	version    int64                // of document; guarded by mu
	published  [][]byte             // every publication, in order; guarded by mu
	revoked    []string             // token IDs; guarded by mu
	challenges int                  // guarded by mu
	attempts   int                  // attestations received; guarded by mu
	issued     int                  // guarded by mu
	scrapes    int                  // guarded by mu
}

type fakeToken struct {
	id, role, tenant string
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, secrets: map[string]fakeToken{fakeOperator: {id: "op",
		role: "operator"}}, tenants: map[string]string{}, devices: map[string]string{},
		nonces: map[string]string{}, document: []byte(`{"components":[]}`)}
	var err error
	if f.caKey, f.caCert, err = newBoundCA(); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/tenants", f.admin("operator", f.createTenant))
	mux.HandleFunc("POST /api/v1/tokens", f.admin("operator", f.createToken))
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", f.admin("operator", f.revokeToken))
	mux.HandleFunc("POST /api/v1/devices", f.admin("manufacturer", f.register))
	mux.HandleFunc("POST /api/v1/tenants/{tenant}/devices/{device}/claim",
		f.admin("tenant-admin", f.claim))
	mux.HandleFunc("GET /api/v1/catalogue", f.admin("operator", f.getCatalogue))
	mux.HandleFunc("PUT /api/v1/catalogue", f.admin("operator", f.putCatalogue))
	mux.HandleFunc("POST "+wire.ChallengesPath, f.challenge)
	mux.HandleFunc("POST "+wire.AttestationsPath, f.attest)
	mux.HandleFunc("GET /metrics", f.metrics)
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes that tests make fail
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)

	f.caFile = filepath.Join(t.TempDir(), "server.crt")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
		Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(f.caFile, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// config returns a configuration for a small, quick run against f.
func (f *fakeServer) config() *config {
	return &config{adminURL: f.srv.URL, daaURL: f.srv.URL, caFile: f.caFile,
		token: fakeOperator, devices: 6, concurrency: 3, attestations: 24, warmup: 3,
		serverCores: 2, output: "text", boundTime: time.Millisecond, boundIters: 3,
		pollInterval: 5 * time.Millisecond, readyTimeout: 2 * time.Second,
		readyPause: time.Millisecond}
}

type adminHandler func(w http.ResponseWriter, r *http.Request, tok fakeToken) (int, any)

// admin checks the bearer token's role and writes the handler's answer.
func (f *fakeServer) admin(role string, h adminHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		tok, known := f.secrets[secret]
		f.mu.Unlock()
		switch {
		case !ok || !known:
			adminError(w, http.StatusUnauthorized, "unauthenticated", "no valid token")
			return
		case tok.role != role:
			adminError(w, http.StatusForbidden, "forbidden", "a "+tok.role+
				" token may not do this")
			return
		}
		status, v := h(w, r, tok)
		if status >= 400 {
			adminError(w, status, "bad_request", fmt.Sprint(v))
			return
		}
		writeTestJSON(w, status, v)
	}
}

func adminError(w http.ResponseWriter, status int, code, msg string) {
	writeTestJSON(w, status, map[string]any{"error": map[string]string{"code": code,
		"message": msg, "hint": "a hint from the fake"}})
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeStrict reads one JSON object with no unknown fields.
func decodeStrict(r *http.Request, v any) error {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		mt != "application/json" {
		return fmt.Errorf("content type %q", r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data")
	}
	return nil
}

func (f *fakeServer) createTenant(w http.ResponseWriter, r *http.Request,
	_ fakeToken) (int, any) {
	var req struct {
		Name string `json:"name"`
	}
	if err := decodeStrict(r, &req); err != nil || !strings.HasPrefix(req.Name, "loadgen-") {
		return http.StatusBadRequest, fmt.Sprintf("bad tenant request: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := fmt.Sprintf("tenant%d", len(f.tenants)+1)
	f.tenants[id] = req.Name
	return http.StatusCreated, map[string]string{"id": id, "name": req.Name}
}

func (f *fakeServer) createToken(w http.ResponseWriter, r *http.Request,
	_ fakeToken) (int, any) {
	var req struct {
		Role      string `json:"role"`
		TenantID  string `json:"tenant_id"`
		Name      string `json:"name"`
		ExpiresIn string `json:"expires_in"`
	}
	if err := decodeStrict(r, &req); err != nil {
		return http.StatusBadRequest, err
	}
	if _, err := time.ParseDuration(req.ExpiresIn); err != nil {
		return http.StatusBadRequest, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case req.Role == "manufacturer" && req.TenantID == "":
	case req.Role == "tenant-admin" && f.tenants[req.TenantID] != "":
	default:
		return http.StatusBadRequest, fmt.Sprintf("role %q tenant %q", req.Role, req.TenantID)
	}
	id := fmt.Sprintf("token%d", len(f.secrets))
	secret := "hm_test_" + id
	f.secrets[secret] = fakeToken{id: id, role: req.Role, tenant: req.TenantID}
	return http.StatusCreated, map[string]string{"id": id, "secret": secret,
		"role": req.Role}
}

func (f *fakeServer) revokeToken(w http.ResponseWriter, r *http.Request,
	_ fakeToken) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRevoke {
		return http.StatusInternalServerError, "revocation is broken"
	}
	for secret, tok := range f.secrets {
		if tok.id == r.PathValue("id") {
			delete(f.secrets, secret)
			f.revoked = append(f.revoked, tok.id)
			return http.StatusOK, map[string]string{"id": tok.id}
		}
	}
	return http.StatusNotFound, "no such token"
}

func (f *fakeServer) register(w http.ResponseWriter, r *http.Request,
	_ fakeToken) (int, any) {
	format, err := registry.ParseFormat(r.Header.Get("Content-Type"))
	if err != nil || format != registry.CSV {
		return http.StatusUnsupportedMediaType, err
	}
	b, err := registry.ParseBatch(r.Body, format, registry.MaxBatchLines)
	if err == nil {
		err = b.Err()
	}
	if err != nil {
		return http.StatusBadRequest, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range b.IDs {
		f.devices[id.String()] = ""
	}
	return http.StatusOK, map[string]int{"received": b.Lines, "created": len(b.IDs)}
}

func (f *fakeServer) claim(w http.ResponseWriter, r *http.Request, tok fakeToken) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	owner, ok := f.devices[r.PathValue("device")]
	switch {
	case f.failClaims:
		return http.StatusConflict, "claimed by another tenant"
	case r.PathValue("tenant") != tok.tenant:
		return http.StatusNotFound, "no such tenant"
	case !ok:
		return http.StatusNotFound, "no such device"
	case owner != "":
		return http.StatusConflict, "claimed"
	}
	f.devices[r.PathValue("device")] = tok.tenant
	return http.StatusCreated, map[string]any{"id": r.PathValue("device"), "claimed": true}
}

func (f *fakeServer) getCatalogue(w http.ResponseWriter, r *http.Request,
	_ fakeToken) (int, any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return http.StatusOK, map[string]any{"version": f.version,
		"document": json.RawMessage(f.document)}
}

func (f *fakeServer) putCatalogue(w http.ResponseWriter, r *http.Request,
	_ fakeToken) (int, any) {
	if r.Header.Get("Content-Type") != "application/json" {
		return http.StatusUnsupportedMediaType, "not JSON"
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return http.StatusBadRequest, err
	}
	if _, err := catalogue.Parse(body); err != nil {
		return http.StatusBadRequest, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version++
	f.document = body
	f.published = append(f.published, body)
	return http.StatusCreated, map[string]int64{"version": f.version}
}

func daaError(w http.ResponseWriter, status int, code string) {
	writeTestJSON(w, status, wire.ErrorResponse{Error: wire.ErrorBody{Code: code,
		Message: "refused by the fake"}})
}

func (f *fakeServer) challenge(w http.ResponseWriter, r *http.Request) {
	var req wire.ChallengeRequest
	if err := decodeStrict(r, &req); err != nil {
		daaError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, err := deviceid.Parse(req.DeviceID)
	if err != nil {
		daaError(w, http.StatusBadRequest, "invalid_device_id")
		return
	}
	nonce := make([]byte, evidence.NonceSize)
	_, _ = rand.Read(nonce)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.challenges++
	if _, ok := f.devices[id.String()]; !ok {
		daaError(w, http.StatusNotFound, "unknown_device")
		return
	}
	if f.rateLimit > 0 && f.challenges > f.rateLimit {
		w.Header().Set("Retry-After", "1")
		daaError(w, http.StatusTooManyRequests, "rate_limited")
		return
	}
	f.nonces[hex.EncodeToString(nonce)] = id.String()
	writeTestJSON(w, http.StatusCreated, wire.ChallengeResponse{Nonce: nonce,
		ExpiresAt: time.Now().Add(time.Minute)})
}

func (f *fakeServer) attest(w http.ResponseWriter, r *http.Request) {
	var req wire.AttestationRequest
	if err := decodeStrict(r, &req); err != nil {
		daaError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	ev, err := evidence.Parse(req.Evidence)
	if err != nil {
		daaError(w, http.StatusBadRequest, "evidence_invalid")
		return
	}
	if err := ev.Verify(); err != nil {
		daaError(w, http.StatusForbidden, "signature_invalid")
		return
	}
	code, status := f.check(ev)
	if code != "" {
		daaError(w, status, code)
		return
	}

	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil || csr.CheckSignature() != nil {
		daaError(w, http.StatusBadRequest, "csr_invalid")
		return
	}
	binding, err := evidence.KeyBindingOf(csr.PublicKey)
	if err != nil || binding != ev.Claims().KeyBinding {
		daaError(w, http.StatusBadRequest, "csr_key_mismatch")
		return
	}
	cert, err := f.issue(ev.DeviceID().String(), csr.PublicKey)
	if err != nil {
		daaError(w, http.StatusInternalServerError, "internal")
		return
	}
	f.mu.Lock()
	f.issued++
	f.mu.Unlock()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.caCert.Raw})
	writeTestJSON(w, http.StatusCreated, wire.AttestationResponse{Certificate: cert,
		Chain: string(caPEM), Serial: "01", Verdict: "affirming"})
}

// check consumes the evidence's nonce and appraises its boot against the
// catalogue; it returns the refusal's code and status, or "".
func (f *fakeServer) check(ev *evidence.Evidence) (string, int) {
	claims := ev.Claims()
	id := ev.DeviceID().String()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts++
	key := hex.EncodeToString(claims.Nonce)
	if f.nonces[key] != id {
		return "nonce_unknown", http.StatusBadRequest
	}
	delete(f.nonces, key)

	document := f.document
	if f.attempts <= f.stale {
		document = []byte(`{"components":[]}`)
	}
	doc, err := catalogue.Parse(document)
	if err != nil {
		return "internal", http.StatusInternalServerError
	}
	cat, err := catalogue.New(f.version, doc)
	if err != nil {
		return "internal", http.StatusInternalServerError
	}
	var boot []catalogue.Measurement
	for _, c := range claims.Components {
		boot = append(boot, catalogue.Measurement{Name: c.Name, Version: c.Version,
			Digest: c.Digest, SVN: c.SVN})
	}
	switch {
	case cat.Appraise(boot).Verdict == attestation.Contraindicated:
		return "software_unknown", http.StatusForbidden
	case f.refuseEvery > 0 && f.attempts%f.refuseEvery == 0:
		return "software_revoked", http.StatusForbidden
	case f.devices[id] == "":
		return "device_unclaimed", http.StatusForbidden
	}
	return "", 0
}

// issue signs a device certificate with the fake's CA.
func (f *fakeServer) issue(id string, pub any) (string, error) {
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()),
		Subject: pkix.Name{CommonName: id}, NotBefore: now.Add(-time.Minute),
		NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, f.caCert, pub, f.caKey)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// metrics answers a Prometheus text page whose resident memory grows with
// each scrape.
func (f *fakeServer) metrics(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.scrapes++
	n := f.scrapes
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"+
		"# TYPE process_resident_memory_bytes gauge\n"+
		"process_resident_memory_bytes %d\n", n*1<<20)
}
