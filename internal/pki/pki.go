// Package pki builds Hallmark's certificates and certificate revocation lists.
//
// The hierarchy has four levels, each with a fixed profile:
//
//   - the root ([CreateRoot]): self-signed, ECDSA P-384, 25 years;
//   - the intermediate ([CreateIntermediate]): signed by the root, P-384,
//     10 years, path length 1;
//   - one CA per tenant ([CreateTenantCA]): signed by the intermediate,
//     P-256, 2 years, path length 0;
//   - proof-of-possession certificates ([CreateProof]): signed by a tenant CA
//     for a throwaway key, subject CN = an Azure DPS verification code, at
//     most one hour.
//
// Every certificate has a random 128-bit serial ([NewSerial]), a notBefore
// backdated by [Backdate], a subject key identifier (RFC 7093 method 1), and,
// below the root, an authority key identifier, a CRL distribution point and an
// AIA caIssuers URL taken from the [Issuer]. A certificate never outlives its
// issuer: a notAfter past the issuer's is cut to the issuer's. [CreateCRL]
// signs the CRLs that those distribution points name. [EncodePEM],
// [EncodePKCS7] and [Thumbprint] serve the download endpoints.
//
// The functions are pure: they take keys as [crypto.Signer] values and every
// timestamp as an argument, and return DER. The package stores nothing and
// never sees a CA private key: key custody is package keys, records are
// package store, and uniqueness of serials per issuer is the store's to
// enforce. The only private key made here is the throwaway key of a proof,
// dropped on return. Device certificates are not built here yet.
package pki

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
)

// DefaultOrganization is the subject organization (O) of Hallmark's CAs when
// the operator configures none.
const DefaultOrganization = "Hallmark"

// Backdate is how far before the issuing time a certificate's notBefore is
// set, for clocks that run slow.
const Backdate = 5 * time.Minute

// Years is a certificate lifetime in calendar years, added with
// [time.Time.AddDate] so that a lifetime ends on the same day of the year.
type Years int

// After returns t plus y calendar years.
func (y Years) After(t time.Time) time.Time { return t.AddDate(int(y), 0, 0) }

// Lifetimes of the CA certificates, counted from the issuing time (not from
// the backdated notBefore).
const (
	RootLifetime         Years = 25
	IntermediateLifetime Years = 10
	TenantCALifetime     Years = 2
)

// MaxProofLifetime is the longest, and default, lifetime of a
// proof-of-possession certificate.
const MaxProofLifetime = time.Hour

// Tenant CA rollover: the next tenant CA is created RolloverLead before the
// current one expires and starts to sign RolloverActivation after it was
// created; both are published in the meantime.
const (
	RolloverLead       = 90 * 24 * time.Hour
	RolloverActivation = 45 * 24 * time.Hour
)

// Errors that callers branch on. Functions wrap them with detail; test with
// errors.Is.
var (
	// ErrVerificationCode means a verification code is not acceptable as
	// the subject of a proof-of-possession certificate.
	ErrVerificationCode = errors.New("invalid verification code")
	// ErrProofLifetime means a proof-of-possession lifetime is negative or
	// longer than MaxProofLifetime.
	ErrProofLifetime = errors.New("invalid proof lifetime")
	// ErrIssuerNotValid means the issuer's certificate is expired or not yet
	// valid at the issuing time, so it must not sign.
	ErrIssuerNotValid = errors.New("issuer certificate not valid at issuing time")
)

// Issuer is a CA that signs: its certificate, a signer for the certificate's
// key, and where relying parties find its CRL and its certificate.
type Issuer struct {
	Cert   *x509.Certificate
	Signer crypto.Signer
	// CRLURL is the URL of this issuer's CRL, put in the CRL distribution
	// points of the certificates it signs. Empty: no such extension.
	CRLURL string
	// CertURL is the URL of this issuer's certificate, put in the AIA
	// caIssuers of the certificates it signs. Empty: no such extension.
	CertURL string
}

// serialBytes is the size of a serial number: 128 bits.
const serialBytes = 16

// NewSerial returns a certificate serial number of 128 random bits read from
// r, such as crypto/rand.Reader. It is positive: a zero draw is drawn again.
func NewSerial(r io.Reader) (*big.Int, error) {
	if r == nil {
		return nil, errors.New("pki: new serial: no random source")
	}
	b := make([]byte, serialBytes)
	for range 8 {
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("pki: new serial: %w", err)
		}
		if s := new(big.Int).SetBytes(b); s.Sign() > 0 {
			return s, nil
		}
	}
	return nil, errors.New("pki: new serial: random source returned only zeros")
}
