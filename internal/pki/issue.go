package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// profile is what sets one kind of certificate apart from another. The rest,
// shared by every certificate Hallmark issues, is filled in by newTemplate and
// issue.
type profile struct {
	subject  pkix.Name
	pub      *ecdsa.PublicKey
	notAfter time.Time // before it is cut to the issuer's
	isCA     bool
	pathLen  int // CAs only; -1: no constraint
	keyUsage x509.KeyUsage
	extUsage []x509.ExtKeyUsage
	extra    []pkix.Extension
}

// issue signs a certificate of profile p with iss at time now, which must be
// in iss's validity. The caller has checked p.pub; issue checks the rest.
func issue(iss Issuer, issuerCurve elliptic.Curve, serial *big.Int, now time.Time,
	p profile) ([]byte, error) {
	der, _, err := issueValid(iss, issuerCurve, serial, now, p)
	return der, err
}

// issueValid is issue that also returns the certificate's validity, as
// its DER records it.
func issueValid(iss Issuer, issuerCurve elliptic.Curve, serial *big.Int, now time.Time,
	p profile) ([]byte, Validity, error) {
	if err := checkIssuer(iss, x509.KeyUsageCertSign, issuerCurve); err != nil {
		return nil, Validity{}, err
	}
	if now.Before(iss.Cert.NotBefore) || !now.Before(iss.Cert.NotAfter) {
		return nil, Validity{}, fmt.Errorf("%w: %s is outside %s to %s", ErrIssuerNotValid,
			now.Format(time.RFC3339), iss.Cert.NotBefore.Format(time.RFC3339),
			iss.Cert.NotAfter.Format(time.RFC3339))
	}
	if err := checkURL("issuer CRL URL", iss.CRLURL); err != nil {
		return nil, Validity{}, err
	}
	if err := checkURL("issuer certificate URL", iss.CertURL); err != nil {
		return nil, Validity{}, err
	}

	if p.notAfter.After(iss.Cert.NotAfter) {
		p.notAfter = iss.Cert.NotAfter
	}
	tmpl, err := newTemplate(serial, now, p)
	if err != nil {
		return nil, Validity{}, err
	}
	tmpl.AuthorityKeyId = iss.Cert.SubjectKeyId
	if iss.CRLURL != "" {
		tmpl.CRLDistributionPoints = []string{iss.CRLURL}
	}
	if iss.CertURL != "" {
		tmpl.IssuingCertificateURL = []string{iss.CertURL}
	}

	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Cert, p.pub, iss.Signer)
	if err != nil {
		return nil, Validity{}, fmt.Errorf("sign: %w", err)
	}
	// Certificates record whole seconds.
	return der, Validity{NotBefore: tmpl.NotBefore.UTC().Truncate(time.Second),
		NotAfter: tmpl.NotAfter.UTC().Truncate(time.Second)}, nil
}

// Validity is a certificate's validity period.
type Validity struct {
	NotBefore, NotAfter time.Time
}

// newTemplate returns the template of a certificate of profile p with the
// given serial, issued at now.
func newTemplate(serial *big.Int, now time.Time, p profile) (*x509.Certificate, error) {
	if err := checkSerial(serial); err != nil {
		return nil, err
	}
	skid, err := subjectKeyID(p.pub)
	if err != nil {
		return nil, err
	}
	pathLen := -1
	if p.isCA {
		pathLen = p.pathLen
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               p.subject,
		NotBefore:             now.Add(-Backdate),
		NotAfter:              p.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  p.isCA,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
		KeyUsage:              p.keyUsage,
		ExtKeyUsage:           p.extUsage,
		ExtraExtensions:       p.extra,
		SubjectKeyId:          skid,
	}, nil
}

// issuingTime checks now and returns it in UTC, cut to whole seconds as
// certificates record it.
func issuingTime(now time.Time) (time.Time, error) {
	if now.IsZero() {
		return time.Time{}, errors.New("issuing time is zero")
	}
	return now.UTC().Truncate(time.Second), nil
}

// checkSerial checks that serial is a valid certificate serial number (RFC
// 5280 section 4.1.2.2): positive and at most 20 octets.
func checkSerial(serial *big.Int) error {
	switch {
	case serial == nil:
		return errors.New("serial is nil")
	case serial.Sign() <= 0:
		return errors.New("serial must be positive")
	case serial.BitLen() > 20*8-1:
		return errors.New("serial is longer than 20 octets")
	}
	return nil
}

// subjectKeyID returns the key identifier of pub by method 1 of RFC 7093: the
// leftmost 160 bits of the SHA-256 of the subjectPublicKey bits.
func subjectKeyID(pub *ecdsa.PublicKey) ([]byte, error) {
	raw, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	sum := sha256.Sum256(raw)
	return sum[:20], nil
}

// checkIssuer checks that iss can sign with the key usage bit: a CA
// certificate with that usage and a key identifier, on one of the curves, and
// a signer for that certificate's key.
func checkIssuer(iss Issuer, usage x509.KeyUsage, curves ...elliptic.Curve) error {
	c := iss.Cert
	switch {
	case c == nil:
		return errors.New("issuer has no certificate")
	case !c.BasicConstraintsValid || !c.IsCA:
		return errors.New("issuer certificate is not a CA")
	case usage == x509.KeyUsageCertSign && c.KeyUsage&usage == 0:
		return errors.New("issuer certificate lacks the keyCertSign usage")
	case usage == x509.KeyUsageCRLSign && c.KeyUsage&usage == 0:
		return errors.New("issuer certificate lacks the cRLSign usage")
	case len(c.SubjectKeyId) == 0:
		return errors.New("issuer certificate has no subject key identifier")
	}
	if err := checkKey("issuer", c.PublicKey, curves...); err != nil {
		return err
	}

	pub, err := signerKey("issuer", iss.Signer)
	if err != nil {
		return err
	}
	if k, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(c.PublicKey) {
		return errors.New("issuer signer does not hold the key of the issuer certificate")
	}
	return nil
}

// signerKey returns the public key of s, or an error if s is nil or has none.
func signerKey(role string, s crypto.Signer) (crypto.PublicKey, error) {
	if isNil(s) {
		return nil, fmt.Errorf("%s signer is nil", role)
	}
	pub := s.Public()
	if isNil(pub) {
		return nil, fmt.Errorf("%s signer has no public key", role)
	}
	return pub, nil
}
