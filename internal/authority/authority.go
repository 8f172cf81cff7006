// Package authority runs Hallmark's CA hierarchy: a root, one intermediate,
// and one CA per tenant, with their keys in a [keys.Backend] and their records
// in the store.
//
// It creates the root and intermediate ([Authority.Bootstrap]), creates a
// tenant's CA inside the transaction that creates the tenant
// ([Authority.CreateTenantCA]), rolls tenant CAs over before they expire
// ([Authority.Rollover]), issues proof-of-possession certificates
// ([Authority.IssueProof]) and signs CRLs ([Authority.CRL]). The certificate
// profiles themselves live in package pki.
//
// The intermediate does not roll over: it lives ten years and replacing it is
// a manual operation that this package does not offer yet.
package authority

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hallmark-project/hallmark/internal/keys"
	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
)

// Errors that callers branch on.
var (
	// ErrNotInitialized means the root and intermediate do not exist yet.
	ErrNotInitialized = errors.New("authority: CA hierarchy not initialized")
	// ErrNoActiveCA means the tenant has no CA that may sign now.
	ErrNoActiveCA = errors.New("authority: tenant has no active CA")
	// ErrCANotFound means no CA of the tenant has the given thumbprint.
	ErrCANotFound = errors.New("authority: CA not found")
)

// Config configures an Authority.
type Config struct {
	Store store.Store
	Keys  keys.Backend
	// Organization is the O of every CA subject; "Hallmark" if empty.
	Organization string
	// PublicURL is the base URL under which CRLs and CA certificates are
	// published, e.g. "http://pki.example.com". Empty: certificates carry
	// no CRL distribution point or issuer URL.
	PublicURL string
	// Now returns the current time; time.Now if nil. Tests inject a clock.
	Now func() time.Time
	// Rand is the source of serials and IDs; crypto/rand if nil.
	Rand io.Reader
}

// Authority manages the CA hierarchy. It is safe for concurrent use, and
// several processes may share one store.
type Authority struct {
	store store.Store
	keys  keys.Backend
	org   string
	url   string
	now   func() time.Time
	rand  io.Reader

	mu      sync.Mutex
	signers map[string]crypto.Signer // by key ID; guarded by mu

	active activeCache
	inter  atomic.Pointer[store.CA] // the intermediate, once read
}

// New returns an Authority.
func New(cfg Config) *Authority {
	a := &Authority{
		store:   cfg.Store,
		keys:    cfg.Keys,
		org:     cfg.Organization,
		url:     strings.TrimRight(cfg.PublicURL, "/"),
		now:     cfg.Now,
		rand:    cfg.Rand,
		signers: make(map[string]crypto.Signer),
	}
	if a.org == "" {
		a.org = "Hallmark"
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	return a
}

// Now returns the authority's current time.
func (a *Authority) Now() time.Time { return a.now().UTC() }

// CRLPath and CertPath are the paths, under the public URL, where a CA's CRL
// and certificate are published.
func CRLPath(caID string) string  { return "/pki/crl/" + caID + ".crl" }
func CertPath(caID string) string { return "/pki/ca/" + caID + ".crt" }

func (a *Authority) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(a.rand, b); err != nil {
		return "", fmt.Errorf("authority: read random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// issuer loads a CA as a pki.Issuer that can sign.
func (a *Authority) issuer(ctx context.Context, q store.Queries, ca store.CA) (pki.Issuer, error) {
	cert, err := x509.ParseCertificate(ca.CertDER)
	if err != nil {
		return pki.Issuer{}, fmt.Errorf("authority: parse CA %s: %w", ca.ID, err)
	}
	s, err := a.signer(ctx, q, ca.KeyID)
	if err != nil {
		return pki.Issuer{}, err
	}
	iss := pki.Issuer{Cert: cert, Signer: s}
	if a.url != "" {
		iss.CRLURL = a.url + CRLPath(ca.ID)
		iss.CertURL = a.url + CertPath(ca.ID)
	}
	return iss, nil
}

func (a *Authority) signer(ctx context.Context, q store.Queries, keyID string) (crypto.Signer,
	error) {
	a.mu.Lock()
	s, ok := a.signers[keyID]
	a.mu.Unlock()
	if ok {
		return s, nil
	}
	k, err := q.GetKey(ctx, keyID)
	if err != nil {
		return nil, fmt.Errorf("authority: load key %s: %w", keyID, err)
	}
	if k.Backend != a.keys.Name() {
		return nil, fmt.Errorf("authority: key %s is held by backend %q, this server uses %q: %w",
			keyID, k.Backend, a.keys.Name(), keys.ErrUnusable)
	}
	s, err = a.keys.Signer(ctx, keyID, k.Ref)
	if err != nil {
		return nil, fmt.Errorf("authority: open key %s: %w", keyID, err)
	}
	a.mu.Lock()
	a.signers[keyID] = s
	a.mu.Unlock()
	return s, nil
}

// newKey creates a key pair in the backend and records it through q.
func (a *Authority) newKey(ctx context.Context, q store.Queries, curve elliptic.Curve) (
	string, crypto.Signer, error) {
	id, err := a.newID()
	if err != nil {
		return "", nil, err
	}
	ref, s, err := a.keys.Generate(ctx, id, curve)
	if err != nil {
		return "", nil, fmt.Errorf("authority: generate key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(s.Public())
	if err != nil {
		return "", nil, fmt.Errorf("authority: encode public key: %w", err)
	}
	k := store.Key{ID: id, Backend: a.keys.Name(), Ref: ref, Public: pub, CreatedAt: a.Now()}
	if err := q.PutKey(ctx, k); err != nil {
		return "", nil, fmt.Errorf("authority: record key: %w", err)
	}
	return id, s, nil
}

// sign creates a certificate with a fresh serial and records it through q.
// The store refuses a serial its issuer has used; with 128 random bits that
// does not happen in practice, and the caller's request then fails whole
// rather than retrying inside a transaction that PostgreSQL has aborted.
func (a *Authority) sign(ctx context.Context, q store.Queries, issuerID string, rec store.Cert,
	create func(serial *big.Int) ([]byte, error)) ([]byte, *x509.Certificate, error) {
	serial, err := pki.NewSerial(a.rand)
	if err != nil {
		return nil, nil, fmt.Errorf("authority: new serial: %w", err)
	}
	der, err := create(serial)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("authority: parse new certificate: %w", err)
	}
	rec.IssuerID = issuerID
	rec.Serial = serial.Bytes()
	rec.NotBefore = cert.NotBefore
	rec.NotAfter = cert.NotAfter
	rec.CertDER = der
	rec.CreatedAt = a.Now()
	if err := q.PutCert(ctx, rec); err != nil {
		return nil, nil, fmt.Errorf("authority: record certificate %x: %w", rec.Serial, err)
	}
	return der, cert, nil
}
