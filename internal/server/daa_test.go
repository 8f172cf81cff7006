package server

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/evidence"
	"github.com/hallmark-project/hallmark/internal/nonce"
	"github.com/hallmark-project/hallmark/internal/store"
)

// boot components of the test catalogue: loader 1.0 is superseded by 1.1,
// kernel 0.9 is below the minimum security version, kernel 2.0-rc revoked.
func comp(name, version string, svn uint64) evidence.Component {
	return evidence.Component{Name: name, Version: version, SVN: svn,
		Digest: sha256.Sum256([]byte(name + " " + version))}
}

func hexOf(c evidence.Component) string { return hex.EncodeToString(c.Digest[:]) }

var (
	goodBoot       = []evidence.Component{comp("loader", "1.1", 2), comp("kernel", "1.0", 3)}
	supersededBoot = []evidence.Component{comp("loader", "1.0", 1), comp("kernel", "1.0", 3)}
	revokedBoot    = []evidence.Component{comp("loader", "1.1", 2), comp("kernel", "2.0-rc", 4)}
	oldKernelBoot  = []evidence.Component{comp("loader", "1.1", 2), comp("kernel", "0.9", 2)}
	tamperedBoot   = []evidence.Component{comp("loader", "1.1", 2), comp("kernel", "1.0-evil", 3)}
)

func testCatalogue() string {
	rel := func(c evidence.Component) string {
		b, _ := json.Marshal(map[string]any{"digest": hexOf(c), "version": c.Version,
			"svn": c.SVN})
		return string(b)
	}
	return `{"components": [
	  {"name": "loader", "min_svn": 1, "trusted": [` + rel(comp("loader", "1.0", 1)) + `,` +
		rel(comp("loader", "1.1", 2)) + `]},
	  {"name": "kernel", "min_svn": 3, "trusted": [` + rel(comp("kernel", "0.9", 2)) + `,` +
		rel(comp("kernel", "1.0", 3)) + `], "revoked": ["` + hexOf(comp("kernel", "2.0-rc", 4)) +
		`"]}]}`
}

// fleet is a tenant with devices, and the tokens to manage them.
type fleet struct {
	h        *harness
	tenantID string
	admin    string
	mfg      string
}

func newFleet(t *testing.T, h *harness) *fleet {
	t.Helper()
	f := &fleet{h: h}
	f.tenantID, f.admin = h.createTenant("acme")
	f.mfg = h.newToken("manufacturer", "")
	r := h.callType("PUT", "/api/v1/catalogue", h.operator, "application/json",
		testCatalogue())
	if r.status != 201 {
		t.Fatalf("publish catalogue = %d %s", r.status, r.body)
	}
	return f
}

// device is a simulated device with its identity key.
type device struct {
	key *ecdsa.PrivateKey // test key
	id  string
}

func newDevice(t *testing.T) device {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	if err != nil {
		t.Fatal(err)
	}
	id, err := deviceid.FromPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return device{key: k, id: id.String()}
}

// enroll makes a device, registered and, if claim, claimed by the tenant.
func (f *fleet) enroll(t *testing.T, claim bool) device {
	t.Helper()
	d := newDevice(t)
	r := f.h.callType("POST", "/api/v1/devices", f.mfg, "text/csv", "device_id\n"+d.id+"\n")
	if r.status != 200 {
		t.Fatalf("register = %d %s", r.status, r.body)
	}
	if claim {
		f.h.must(201, "POST", "/api/v1/tenants/"+f.tenantID+"/devices/"+d.id+"/claim",
			f.admin, nil)
	}
	return d
}

func (h *harness) daaCall(path string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest("POST", h.daa+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func (h *harness) challenge(t *testing.T, id string) []byte {
	t.Helper()
	r := h.daaCall(wire.ChallengesPath, wire.ChallengeRequest{DeviceID: id})
	if r.status != 201 {
		t.Fatalf("challenge = %d %s", r.status, r.body)
	}
	var c wire.ChallengeResponse
	r.json(t, &c)
	return c.Nonce
}

// nonces returns the codec of the harness's nonces, with the key that the
// server stored.
func (h *harness) nonces(t *testing.T) *nonce.Codec {
	t.Helper()
	key, err := nonce.LoadKey(t.Context(), h.sys.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := nonce.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stored returns the stored form of the nonce n.
func (h *harness) stored(t *testing.T, n []byte) []byte {
	t.Helper()
	s, err := h.nonces(t).Stored(n)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// attempt is one attestation request in the making.
type attempt struct {
	signer   crypto.Signer // signs the evidence
	nonce    []byte
	boot     []evidence.Component
	csrKey   *ecdsa.PrivateKey // the certificate key
	bindKey  crypto.PublicKey  // the key the evidence binds; csrKey's if nil
	tweakCSR func([]byte) []byte
}

func (a attempt) request(t *testing.T) wire.AttestationRequest {
	t.Helper()
	if a.csrKey == nil {
		a.csrKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	}
	if a.bindKey == nil {
		a.bindKey = &a.csrKey.PublicKey
	}
	binding, err := evidence.KeyBindingOf(a.bindKey)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evidence.Sign(a.signer, evidence.Claims{Nonce: a.nonce, IssuedAt: time.Now(),
		Components: a.boot, KeyBinding: binding})
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "device"}}, a.csrKey)
	if err != nil {
		t.Fatal(err)
	}
	if a.tweakCSR != nil {
		csr = a.tweakCSR(csr)
	}
	return wire.AttestationRequest{Evidence: ev, CSR: csr}
}

// impostor claims one device's public key but signs with another's key.
type impostor struct {
	claimed *ecdsa.PublicKey
	real    *ecdsa.PrivateKey
}

func (i impostor) Public() crypto.PublicKey { return i.claimed }
func (i impostor) Sign(r io.Reader, d []byte, o crypto.SignerOpts) ([]byte, error) {
	return i.real.Sign(r, d, o)
}

// TestAttestation issues a certificate and checks it with openssl: chain,
// CN, key usage, extended key usage, 24-hour validity and the extension.
func TestAttestation(t *testing.T) {
	h := start(t, "sqlite")
	f := newFleet(t, h)
	d := f.enroll(t, true)

	csrKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	req := attempt{signer: d.key, nonce: h.challenge(t, d.id), boot: supersededBoot,
		csrKey: csrKey}.request(t)
	r := h.daaCall(wire.AttestationsPath, req)
	if r.status != 201 {
		t.Fatalf("attest = %d %s", r.status, r.body)
	}
	var resp wire.AttestationResponse
	r.json(t, &resp)
	if resp.Verdict != "warning" {
		t.Errorf("verdict = %q, want warning (superseded loader)", resp.Verdict)
	}
	if !resp.RenewAt.After(resp.NotBefore) || !resp.RenewAt.Before(resp.NotAfter) {
		t.Errorf("renew at %v is not inside %v to %v", resp.RenewAt, resp.NotBefore,
			resp.NotAfter)
	}

	block, _ := pem.Decode([]byte(resp.Certificate))
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := cert.NotAfter.Sub(cert.NotBefore); got != 24*time.Hour+5*time.Minute {
		t.Errorf("validity = %v, want 24h plus 5m backdating", got)
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(&csrKey.PublicKey) {
		t.Error("certificate key is not the CSR key")
	}
	res, err := attestation.FromCertificate(cert)
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != attestation.Warning || len(res.Components) != 2 ||
		res.Components[0].Verdict != attestation.Warning || res.CatalogueVersion != 1 {
		t.Errorf("attestation result = %+v", res)
	}
	if res.EvidenceDigest != sha256.Sum256(req.Evidence) {
		t.Error("evidence digest is not the SHA-256 of the evidence")
	}

	chain := []byte(resp.Chain)
	parts := splitPEM(t, chain)
	rootPEM := h.must(200, "GET", "/api/v1/tenants/"+f.tenantID+
		"/certificates/active/chain", f.admin, nil).body
	all := splitPEM(t, rootPEM)
	root := writeTemp(t, "root.pem", all[2])
	untrusted := writeTemp(t, "untrusted.pem", bytes.Join(parts, nil))
	leaf := writeTemp(t, "device.pem", []byte(resp.Certificate))
	if out, err := openssl(t, "verify", "-x509_strict", "-purpose", "sslclient", "-CAfile",
		root, "-untrusted", untrusted, leaf); err != nil {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
	text, err := openssl(t, "x509", "-in", leaf, "-noout", "-text")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Subject: CN = " + d.id, "X509v3 Key Usage: critical",
		"Digital Signature", "TLS Web Client Authentication", "1.3.6.1.4.1.311.98.1:",
		"CA:FALSE"} {
		if !strings.Contains(text, want) {
			t.Errorf("certificate text lacks %q:\n%s", want, text)
		}
	}

	// The tenant sees the attestation and the issuance log.
	var dev struct {
		LastAttestation *struct{ Verdict string } `json:"last_attestation"`
	}
	h.must(200, "GET", "/api/v1/tenants/"+f.tenantID+"/devices/"+d.id, f.admin, nil).json(t,
		&dev)
	if dev.LastAttestation == nil || dev.LastAttestation.Verdict != "warning" {
		t.Errorf("device's last attestation = %+v", dev.LastAttestation)
	}
	var log struct {
		Issuances []struct{ Serial, Verdict string }
	}
	h.must(200, "GET", "/api/v1/tenants/"+f.tenantID+"/issuances", f.admin, nil).json(t, &log)
	if len(log.Issuances) != 1 || log.Issuances[0].Serial != resp.Serial {
		t.Errorf("issuance log = %+v, want the one certificate %s", log.Issuances, resp.Serial)
	}
}

// TestAttestationRefusals covers each check of the verifier: every refusal
// has its code, issues no certificate and changes nothing but the nonce.
func TestAttestationRefusals(t *testing.T) {
	h := start(t, "sqlite")
	f := newFleet(t, h)
	ctx := context.Background()

	type setup struct {
		dev   device
		att   attempt
		spent bool // whether the refusal consumes the nonce
	}
	tests := []struct {
		name   string
		status int
		code   string
		make   func(t *testing.T) setup
	}{
		{"unknown device", 404, "unknown_device", func(t *testing.T) setup {
			d := newDevice(t)
			n := make([]byte, 32)
			rand.Read(n)
			return setup{dev: d, att: attempt{signer: d.key, nonce: n, boot: goodBoot}}
		}},
		{"blocked device", 403, "device_blocked", func(t *testing.T) setup {
			d := f.enroll(t, true)
			n := h.challenge(t, d.id)
			h.must(200, "POST", "/api/v1/devices/"+d.id+"/block", h.operator, nil)
			return setup{dev: d, att: attempt{signer: d.key, nonce: n, boot: goodBoot}}
		}},
		{"bad signature", 403, "signature_invalid", func(t *testing.T) setup {
			d := f.enroll(t, true)
			other := newDevice(t)
			return setup{dev: d, att: attempt{signer: impostor{&d.key.PublicKey, other.key},
				nonce: h.challenge(t, d.id), boot: goodBoot}}
		}},
		{"evidence of another device", 403, "signature_invalid", func(t *testing.T) setup {
			// A registered device B presents evidence naming device A.
			a, b := f.enroll(t, true), f.enroll(t, true)
			return setup{dev: a, att: attempt{signer: impostor{&a.key.PublicKey, b.key},
				nonce: h.challenge(t, a.id), boot: goodBoot}}
		}},
		{"nonce reused", 400, "nonce_reused", func(t *testing.T) setup {
			d := f.enroll(t, true)
			n := h.challenge(t, d.id)
			_, err := h.sys.store.ConsumeNonce(ctx, h.stored(t, n), d.id, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return setup{dev: d, att: attempt{signer: d.key, nonce: n, boot: goodBoot},
				spent: true}
		}},
		{"nonce expired", 400, "nonce_expired", func(t *testing.T) setup {
			d := f.enroll(t, true)
			past := time.Now().Add(-2 * time.Minute)
			n, stored, err := h.nonces(t).Make(past)
			if err != nil {
				t.Fatal(err)
			}
			err = h.sys.store.PutNonce(ctx, store.Nonce{Value: stored, DeviceID: d.id,
				CreatedAt: past, ExpiresAt: past.Add(time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			return setup{dev: d, att: attempt{signer: d.key, nonce: n, boot: goodBoot}}
		}},
		{"nonce of another device", 400, "nonce_other_device", func(t *testing.T) setup {
			d, other := f.enroll(t, true), f.enroll(t, true)
			return setup{dev: d, att: attempt{signer: d.key, nonce: h.challenge(t, other.id),
				boot: goodBoot}}
		}},
		{"nonce never issued", 400, "nonce_unknown", func(t *testing.T) setup {
			d := f.enroll(t, true)
			n := make([]byte, 32)
			rand.Read(n)
			return setup{dev: d, att: attempt{signer: d.key, nonce: n, boot: goodBoot}}
		}},
		{"tampered measurement", 403, "software_unknown", func(t *testing.T) setup {
			d := f.enroll(t, true)
			return setup{dev: d, att: attempt{signer: d.key, nonce: h.challenge(t, d.id),
				boot: tamperedBoot}, spent: true}
		}},
		{"revoked digest", 403, "software_revoked", func(t *testing.T) setup {
			d := f.enroll(t, true)
			return setup{dev: d, att: attempt{signer: d.key, nonce: h.challenge(t, d.id),
				boot: revokedBoot}, spent: true}
		}},
		{"security version below minimum", 403, "software_svn_below_minimum",
			func(t *testing.T) setup {
				d := f.enroll(t, true)
				return setup{dev: d, att: attempt{signer: d.key, nonce: h.challenge(t, d.id),
					boot: oldKernelBoot}, spent: true}
			}},
		{"unclaimed device", 403, "device_unclaimed", func(t *testing.T) setup {
			d := f.enroll(t, false)
			return setup{dev: d, att: attempt{signer: d.key, nonce: h.challenge(t, d.id),
				boot: goodBoot}, spent: true}
		}},
		{"CSR signature invalid", 400, "csr_signature_invalid", func(t *testing.T) setup {
			d := f.enroll(t, true)
			return setup{dev: d, att: attempt{signer: d.key, nonce: h.challenge(t, d.id),
				boot: goodBoot, tweakCSR: func(b []byte) []byte {
					b = append([]byte{}, b...)
					b[len(b)-3] ^= 0x01
					return b
				}}, spent: true}
		}},
		{"CSR not DER", 400, "csr_invalid", func(t *testing.T) setup {
			d := f.enroll(t, true)
			return setup{dev: d, att: attempt{signer: d.key, nonce: h.challenge(t, d.id),
				boot: goodBoot, tweakCSR: func([]byte) []byte { return []byte("not a csr") }},
				spent: true}
		}},
		{"CSR key not the one in the evidence", 400, "csr_key_mismatch",
			func(t *testing.T) setup {
				d := f.enroll(t, true)
				other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
				return setup{dev: d, att: attempt{signer: d.key, nonce: h.challenge(t, d.id),
					boot: goodBoot, bindKey: &other.PublicKey}, spent: true}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.make(t)
			req := s.att.request(t)
			before, _ := h.sys.store.GetDevice(ctx, s.dev.id)
			r := h.daaCall(wire.AttestationsPath, req)
			if r.status != tt.status || r.code() != tt.code {
				t.Fatalf("attest = %d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
			after, _ := h.sys.store.GetDevice(ctx, s.dev.id)
			if !after.LastAttestedAt.Equal(before.LastAttestedAt) ||
				after.CertNotAfter != before.CertNotAfter {
				t.Error("a refused attestation changed the device's attestation record")
			}
			is, err := h.sys.store.ListIssuances(ctx, store.IssuanceFilter{DeviceID: s.dev.id})
			if err != nil || len(is) != 0 {
				t.Errorf("refused attestation issued %d certificates (%v)", len(is), err)
			}
			// The nonce is spent exactly when the refusal comes after its check.
			_, err = h.sys.store.ConsumeNonce(ctx, h.stored(t, s.att.nonce), s.dev.id,
				time.Now())
			if spent := errors.Is(err, store.ErrConflict); s.spent != spent &&
				tt.code != "nonce_expired" && tt.code != "nonce_unknown" &&
				tt.code != "unknown_device" && tt.code != "nonce_other_device" {
				t.Errorf("nonce spent = %v, want %v (%v)", spent, s.spent, err)
			}
		})
	}
}

// TestBlockedAfterAttesting blocks a device that has attested once, so that
// the verifier knows its claim without reading the device: each refusal is
// still device_blocked, before the signature, the nonce and the software,
// and changes nothing; unblocked, the device attests with the same nonce.
func TestBlockedAfterAttesting(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			f := newFleet(t, h)
			d := f.enroll(t, true)
			ctx := context.Background()
			good := func(n []byte) attempt {
				return attempt{signer: d.key, nonce: n, boot: goodBoot}
			}
			first := good(h.challenge(t, d.id)).request(t)
			if r := h.daaCall(wire.AttestationsPath, first); r.status != 201 {
				t.Fatalf("first attestation = %d %s", r.status, r.body)
			}
			n := h.challenge(t, d.id)
			other := newDevice(t)
			h.must(200, "POST", "/api/v1/devices/"+d.id+"/block", h.operator, nil)

			unknown := make([]byte, 32)
			rand.Read(unknown)
			tests := []struct {
				name string
				att  attempt
			}{
				{"good", good(n)},
				{"bad signature", attempt{signer: impostor{&d.key.PublicKey, other.key}, nonce: n,
					boot: goodBoot}},
				{"revoked software", attempt{signer: d.key, nonce: n, boot: revokedBoot}},
				{"nonce never issued", good(unknown)},
			}
			for _, tt := range tests {
				r := h.daaCall(wire.AttestationsPath, tt.att.request(t))
				if r.status != 403 || r.code() != "device_blocked" {
					t.Errorf("%s: attest = %d %s, want 403 device_blocked", tt.name,
						r.status, r.body)
				}
			}
			is, err := h.sys.store.ListIssuances(ctx, store.IssuanceFilter{DeviceID: d.id})
			if err != nil || len(is) != 1 {
				t.Errorf("%d issuances (%v), want the first attestation's alone", len(is), err)
			}

			h.must(200, "POST", "/api/v1/devices/"+d.id+"/unblock", h.operator, nil)
			if r := h.daaCall(wire.AttestationsPath, good(n).request(t)); r.status != 201 {
				t.Errorf("attest after unblocking = %d %s, want 201: the nonce was spent",
					r.status, r.body)
			}
		})
	}
}

// TestAttestationBadRequests covers malformed and oversized bodies, and
// challenges the DAA refuses.
func TestAttestationBadRequests(t *testing.T) {
	h := start(t, "sqlite")
	blocked := newFleet(t, h).enroll(t, true)
	h.must(200, "POST", "/api/v1/devices/"+blocked.id+"/block", h.operator, nil)
	tests := []struct {
		name, path string
		body       []byte
		status     int
		code       string
	}{
		{"malformed JSON", wire.AttestationsPath, []byte(`{`), 400, "invalid_request"},
		{"unknown field", wire.AttestationsPath, []byte(`{"evidence":"","x":1}`), 400,
			"invalid_request"},
		{"two objects", wire.ChallengesPath, []byte(`{} {}`), 400, "invalid_request"},
		{"evidence not COSE", wire.AttestationsPath, []byte(`{"evidence":"AAAA","csr":"AA=="}`),
			400, "evidence_invalid"},
		{"empty evidence", wire.AttestationsPath, []byte(`{"csr":"AA=="}`), 400,
			"evidence_invalid"},
		{"oversized body", wire.AttestationsPath, append(append([]byte(`{"evidence":"`),
			bytes.Repeat([]byte("A"), 200<<10)...), `"}`...), 413, "body_too_large"},
		{"bad device ID", wire.ChallengesPath, []byte(`{"device_id":"abc"}`), 400,
			"invalid_device_id"},
		{"unregistered device", wire.ChallengesPath, []byte(`{"device_id":"` +
			newDevice(t).id + `"}`), 404, "unknown_device"},
		{"blocked device", wire.ChallengesPath, []byte(`{"device_id":"` + blocked.id + `"}`),
			403, "device_blocked"},
		{"unknown path", "/daa/v1/other", []byte(`{}`), 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.daaCall(tt.path, tt.body)
			if r.status != tt.status || r.code() != tt.code {
				t.Fatalf("POST %s = %d %s, want %d %s", tt.path, r.status, r.body, tt.status,
					tt.code)
			}
		})
	}
}

// TestDeviceRateLimit: a looping device gets 429 with Retry-After, and
// another device is still served.
func TestDeviceRateLimit(t *testing.T) {
	h := start(t, "sqlite", "--device-rate", "6", "--device-burst", "3")
	f := newFleet(t, h)
	greedy, other := f.enroll(t, true), f.enroll(t, true)
	var last response
	for range 4 {
		last = h.daaCall(wire.ChallengesPath, wire.ChallengeRequest{DeviceID: greedy.id})
	}
	if last.status != 429 || last.code() != "rate_limited" ||
		last.header.Get("Retry-After") == "" {
		t.Fatalf("fourth request = %d %s (Retry-After %q), want 429", last.status, last.body,
			last.header.Get("Retry-After"))
	}
	h.challenge(t, other.id)
}
