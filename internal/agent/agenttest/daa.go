// Package agenttest runs a small, honest DAA in the process, for tests of
// the device side (package agent and the agent commands).
//
// [NewDAA] starts an HTTPS server that speaks the DAA protocol of package
// daa/wire: it issues single-use nonces, checks the evidence's signature,
// nonce and key binding with package evidence, checks the certificate
// request, and issues a device certificate from a throwaway CA hierarchy
// made with package pki, carrying an attestation result that affirms every
// measured component. Hooks let a test answer a request itself or tamper
// with what is issued.
//
// It has no registry, catalogue, rate limit or store: the real DAA is
// package daa, which end-to-end tests run.
package agenttest

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/evidence"
	"github.com/hallmark-project/hallmark/internal/pki"
)

// CheckFailed is the error code of the fake's refusals: an honest agent
// never earns one.
const CheckFailed = "fake_check_failed"

// Lifetime is the validity of the certificates the fake issues.
const Lifetime = 24 * time.Hour

// DAA is a running fake DAA.
type DAA struct {
	URL string // the server's base URL
	// TLSCertificate is the server's self-signed TLS certificate, and
	// Roots a pool that holds it.
	TLSCertificate *x509.Certificate
	Roots          *x509.CertPool
	// Chain is the tenant CA, then the intermediate, which sign the
	// certificates it issues.
	Chain []*x509.Certificate

	srv *httptest.Server
	ca  *hierarchy

	// mu guards the fields below it.
	mu        sync.Mutex
	nonces    map[string]string // hex nonce -> device ID
	accepted  []evidence.Claims
	failures  []string
	hook      func(http.ResponseWriter, *http.Request) bool
	issuing   func(*Issuance)
	answering func(*wire.AttestationResponse)
}

// Issuance is what the fake is about to certify; a test may change it with
// [DAA.SetIssuing].
type Issuance struct {
	CommonName string           // the device ID
	PublicKey  crypto.PublicKey // the certificate request's key
	// Result becomes the attestation extension; nil leaves it out.
	Result   *attestation.Result
	Lifetime time.Duration
}

// NewDAA starts a fake DAA. Close it when done.
func NewDAA() (*DAA, error) {
	ca, err := newHierarchy(time.Now())
	if err != nil {
		return nil, fmt.Errorf("agenttest: make test CA: %w", err)
	}
	d := &DAA{ca: ca, Chain: ca.chain, nonces: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+wire.ChallengesPath, d.challenge)
	mux.HandleFunc("POST "+wire.AttestationsPath, d.attest)
	d.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter,
		r *http.Request) {
		d.mu.Lock()
		hook := d.hook
		d.mu.Unlock()
		if hook != nil && hook(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	}))
	// Tests make clients that refuse the server's certificate on purpose.
	d.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	d.srv.StartTLS()
	d.URL = d.srv.URL
	d.TLSCertificate = d.srv.Certificate()
	d.Roots = x509.NewCertPool()
	d.Roots.AddCert(d.TLSCertificate)
	return d, nil
}

// Close stops the server.
func (d *DAA) Close() { d.srv.Close() }

// SetHook makes hook see each request first; when it returns true it has
// answered the request. nil removes the hook.
func (d *DAA) SetHook(hook func(w http.ResponseWriter, r *http.Request) bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hook = hook
}

// SetIssuing makes f change each issuance before it is signed.
func (d *DAA) SetIssuing(f func(*Issuance)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.issuing = f
}

// SetAnswering makes f change each successful answer before it is sent.
func (d *DAA) SetAnswering(f func(*wire.AttestationResponse)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.answering = f
}

// Accepted returns the claims of the attestations the fake accepted.
func (d *DAA) Accepted() []evidence.Claims {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]evidence.Claims(nil), d.accepted...)
}

// Failures returns why the fake refused requests; an honest agent causes
// none.
func (d *DAA) Failures() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.failures...)
}

func (d *DAA) challenge(w http.ResponseWriter, r *http.Request) {
	var req wire.ChallengeRequest
	if err := decode(r, &req); err != nil {
		d.refuse(w, "challenge: "+err.Error())
		return
	}
	nonce := make([]byte, evidence.NonceSize)
	_, _ = rand.Read(nonce) // crypto/rand does not fail
	d.mu.Lock()
	d.nonces[hex.EncodeToString(nonce)] = req.DeviceID
	d.mu.Unlock()
	writeJSON(w, http.StatusCreated, wire.ChallengeResponse{Nonce: nonce,
		ExpiresAt: time.Now().Add(time.Minute)})
}

func (d *DAA) attest(w http.ResponseWriter, r *http.Request) {
	var req wire.AttestationRequest
	if err := decode(r, &req); err != nil {
		d.refuse(w, "attestation: "+err.Error())
		return
	}
	iss, claims, err := d.verify(req)
	if err != nil {
		d.refuse(w, "attestation: "+err.Error())
		return
	}

	d.mu.Lock()
	issuing, answering := d.issuing, d.answering
	d.mu.Unlock()
	if issuing != nil {
		issuing(iss)
	}
	now := time.Now()
	der, err := d.ca.issue(iss, now)
	if err != nil {
		d.refuse(w, "issue: "+err.Error())
		return
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		d.refuse(w, "issue: "+err.Error())
		return
	}

	ans := wire.AttestationResponse{
		Certificate: string(pki.EncodePEM(der)),
		Chain:       string(pki.EncodePEM(d.Chain[0].Raw, d.Chain[1].Raw)),
		Serial:      hex.EncodeToString(cert.SerialNumber.Bytes()),
		NotBefore:   cert.NotBefore,
		NotAfter:    cert.NotAfter,
		RenewAt:     now.Add(iss.Lifetime * 2 / 3),
		Verdict:     attestation.Affirming.String(),
	}
	if answering != nil {
		answering(&ans)
	}
	d.mu.Lock()
	d.accepted = append(d.accepted, claims)
	d.mu.Unlock()
	writeJSON(w, http.StatusCreated, ans)
}

// verify checks an attestation as the real DAA would, short of a registry
// and a catalogue, and returns what to certify.
func (d *DAA) verify(req wire.AttestationRequest) (*Issuance, evidence.Claims, error) {
	ev, err := evidence.Parse(req.Evidence)
	if err != nil {
		return nil, evidence.Claims{}, err
	}
	if err := ev.Verify(); err != nil {
		return nil, evidence.Claims{}, err
	}
	claims := ev.Claims()
	id := ev.DeviceID().String()
	if err := d.useNonce(claims.Nonce, id); err != nil {
		return nil, evidence.Claims{}, err
	}

	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		return nil, evidence.Claims{}, fmt.Errorf("csr: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, evidence.Claims{}, fmt.Errorf("csr: %w", err)
	}
	binding, err := evidence.KeyBindingOf(csr.PublicKey)
	if err != nil {
		return nil, evidence.Claims{}, err
	}
	if binding != claims.KeyBinding {
		return nil, evidence.Claims{}, errors.New("the CSR key is not the one the evidence binds")
	}
	if csr.Subject.CommonName != id {
		return nil, evidence.Claims{}, errors.New("the CSR's common name is not the device ID")
	}

	res := &attestation.Result{Verdict: attestation.Affirming, AppraisedAt: time.Now(),
		EvidenceDigest: ev.Digest(), CatalogueVersion: 1}
	for _, c := range claims.Components {
		res.Components = append(res.Components, attestation.Component{Name: c.Name,
			Version: c.Version, Digest: c.Digest, Verdict: attestation.Affirming})
	}
	return &Issuance{CommonName: id, PublicKey: csr.PublicKey, Result: res,
		Lifetime: Lifetime}, claims, nil
}

// useNonce consumes a nonce issued to device.
func (d *DAA) useNonce(nonce []byte, device string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := hex.EncodeToString(nonce)
	owner, ok := d.nonces[key]
	if !ok {
		return errors.New("unknown or used nonce")
	}
	delete(d.nonces, key)
	if owner != device {
		return errors.New("nonce issued to another device")
	}
	return nil
}

func (d *DAA) refuse(w http.ResponseWriter, why string) {
	d.mu.Lock()
	d.failures = append(d.failures, why)
	d.mu.Unlock()
	writeJSON(w, http.StatusBadRequest, wire.ErrorResponse{Error: wire.ErrorBody{
		Code: CheckFailed, Message: why}})
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 256<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode request: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client has gone if this fails
}
