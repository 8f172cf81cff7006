// Package caengine is the certificate authority engine of the DAA service:
// it issues a device's 24-hour certificate from its tenant's active CA once
// the verifier has accepted the device's attestation. [Engine.Sign] makes
// the certificate; the caller records [Issued.Records] with the spending of
// the attestation's nonce (store.Attestation).
//
// The certificate carries the attestation result (package attestation) in
// extension 1.3.6.1.4.1.311.98.1. Its issuance is recorded, with the
// attestation behind it, in the same transaction as the certificate itself,
// and committed before the engine returns: a device never holds a
// certificate the store does not know. The engine says when the device
// should come back, at a random point in the last part of the lifetime, so
// that a fleet that booted together does not renew together.
//
// The engine trusts its caller: it checks no evidence and no policy.
package caengine

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"sync"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/authority"
	"github.com/hallmark-project/hallmark/internal/catalogue"
	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
)

// Renewal window, as fractions of the lifetime after notBefore: a device is
// told to renew somewhere between the two.
const (
	renewFrom = 0.60
	renewTo   = 0.80
)

// Config configures an Engine.
type Config struct {
	Store     store.Store
	Authority *authority.Authority
	// Lifetime of device certificates; 0 means pki.DeviceLifetime.
	Lifetime time.Duration
	// Rand is the source of serials and renewal jitter; crypto/rand if nil.
	Rand io.Reader
}

// Engine issues device certificates. It is safe for concurrent use.
type Engine struct {
	store    store.Store
	ca       *authority.Authority
	lifetime time.Duration
	rand     io.Reader

	chains sync.Map // PEM chain by tenant CA ID and intermediate ID
}

// New returns an Engine.
func New(cfg Config) (*Engine, error) {
	e := &Engine{store: cfg.Store, ca: cfg.Authority, lifetime: cfg.Lifetime, rand: cfg.Rand}
	if e.lifetime == 0 {
		e.lifetime = pki.DeviceLifetime
	}
	if e.lifetime < 10*time.Minute || e.lifetime > pki.MaxDeviceLifetime {
		return nil, fmt.Errorf("caengine: certificate lifetime %v is outside 10m to %v",
			e.lifetime, pki.MaxDeviceLifetime)
	}
	if e.rand == nil {
		e.rand = rand.Reader
	}
	return e, nil
}

// Request is an accepted attestation to certify.
type Request struct {
	TenantID       string
	DeviceID       deviceid.ID
	PublicKey      crypto.PublicKey // from the device's CSR
	Appraisal      catalogue.Appraisal
	EvidenceDigest [32]byte
}

// Issued is a device certificate with what the device needs to use it.
type Issued struct {
	Certificate []byte   // DER
	Chain       [][]byte // DER: the tenant CA, then the intermediate
	ChainPEM    string   // Chain as PEM
	Serial      *big.Int
	NotBefore   time.Time
	NotAfter    time.Time
	RenewAt     time.Time

	cert     store.Cert
	issuance store.Issuance
}

// Sign signs a device certificate without recording it: the caller records
// its Records before handing it out. Signing outside the transaction
// keeps the store's write lock off the signature.
func (e *Engine) Sign(ctx context.Context, r Request) (Issued, error) {
	if r.Appraisal.Verdict == attestation.Contraindicated {
		return Issued{}, fmt.Errorf("caengine: refusing a contraindicated attestation of %s",
			r.DeviceID)
	}
	ca, iss, err := e.ca.ActiveIssuer(ctx, r.TenantID)
	if err != nil {
		return Issued{}, fmt.Errorf("caengine: tenant %s: %w", r.TenantID, err)
	}
	inter, err := e.ca.Intermediate(ctx, e.store)
	if err != nil {
		return Issued{}, fmt.Errorf("caengine: %w", err)
	}
	now := e.ca.Now()
	ext, software, err := resultExtension(r, now)
	if err != nil {
		return Issued{}, err
	}
	serial, err := pki.NewSerial(e.rand)
	if err != nil {
		return Issued{}, fmt.Errorf("caengine: serial: %w", err)
	}
	der, cert, err := pki.CreateDevice(iss, r.PublicKey, serial, pki.DeviceInfo{
		DeviceID: r.DeviceID.String(), Result: ext, Lifetime: e.lifetime}, now)
	if err != nil {
		return Issued{}, fmt.Errorf("caengine: %w", err)
	}
	renewAt, err := e.renewAt(cert)
	if err != nil {
		return Issued{}, err
	}

	id := r.DeviceID.String()
	certDigest := sha256.Sum256(der)
	return Issued{Certificate: der, Chain: [][]byte{ca.CertDER, inter.CertDER},
		ChainPEM: e.chainPEM(ca.ID, ca.CertDER, inter.ID, inter.CertDER),
		Serial:   serial, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, RenewAt: renewAt,
		cert: store.Cert{IssuerID: ca.ID, Serial: serial.Bytes(), Kind: store.CertDevice,
			Subject: id, DeviceID: id, TenantID: r.TenantID, NotBefore: cert.NotBefore,
			NotAfter: cert.NotAfter, CertDER: der, CreatedAt: now},
		issuance: store.Issuance{IssuerID: ca.ID, Serial: serial.Bytes(),
			TenantID: r.TenantID, DeviceID: id, NotBefore: cert.NotBefore,
			NotAfter: cert.NotAfter, CertDigest: certDigest[:],
			EvidenceDigest: r.EvidenceDigest[:], Verdict: r.Appraisal.Verdict.String(),
			CatalogueVersion: r.Appraisal.CatalogueVersion, Software: software,
			CreatedAt: now},
	}, nil
}

// chainPEM returns the PEM of a tenant CA and the intermediate, encoded once
// and kept: every answer carries it.
func (e *Engine) chainPEM(caID string, caDER []byte, interID string, interDER []byte) string {
	key := caID + "/" + interID
	if v, ok := e.chains.Load(key); ok {
		return v.(string)
	}
	v, _ := e.chains.LoadOrStore(key, string(pki.EncodePEM(caDER, interDER)))
	return v.(string)
}

// Records returns what the store keeps of the certificate: the
// certificate and its issuance, for store.Attestation. The certificate may
// be handed out once they are committed.
func (is Issued) Records() (*store.Cert, *store.Issuance) {
	cert, issuance := is.cert, is.issuance
	return &cert, &issuance
}

// renewAt picks the renewal time of a certificate.
func (e *Engine) renewAt(cert pki.Validity) (time.Time, error) {
	life := cert.NotAfter.Sub(cert.NotBefore)
	span := int64(float64(life) * (renewTo - renewFrom))
	n, err := rand.Int(e.rand, big.NewInt(max(span, 1)))
	if err != nil {
		return time.Time{}, fmt.Errorf("caengine: renewal jitter: %w", err)
	}
	off := time.Duration(float64(life)*renewFrom) + time.Duration(n.Int64())
	return cert.NotBefore.Add(off).Truncate(time.Second), nil
}

// component is how the issuance log records a measured component.
type component struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	SVN     uint64 `json:"svn"`
	Digest  string `json:"digest"`
	Verdict string `json:"verdict"`
}

// resultExtension makes the attestation result extension and the JSON of
// the measured components for the issuance log.
func resultExtension(r Request, now time.Time) (pkix.Extension, string, error) {
	res := attestation.Result{Verdict: r.Appraisal.Verdict, AppraisedAt: now,
		EvidenceDigest: r.EvidenceDigest, CatalogueVersion: r.Appraisal.CatalogueVersion}
	var comps []component
	for _, o := range r.Appraisal.Outcomes {
		res.Components = append(res.Components, attestation.Component{Name: o.Name,
			Version: o.Version, Digest: o.Digest, Verdict: o.Verdict})
		comps = append(comps, component{Name: o.Name, Version: o.Version, SVN: o.SVN,
			Digest: fmt.Sprintf("%x", o.Digest), Verdict: o.Verdict.String()})
	}
	ext, err := res.Extension()
	if err != nil {
		return pkix.Extension{}, "", fmt.Errorf("caengine: attestation result: %w", err)
	}
	software, err := json.Marshal(comps)
	if err != nil {
		return pkix.Extension{}, "", fmt.Errorf("caengine: encode components: %w", err)
	}
	return ext, string(software), nil
}
