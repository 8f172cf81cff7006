package pki_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/pki"
)

// errorCase is a call that must fail with an error containing want and, if
// is is set, wrapping is.
type errorCase struct {
	name string
	call func() ([]byte, error)
	want string
	is   error
}

func runErrorCases(t *testing.T, tests []errorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := tt.call()
			if err == nil {
				t.Fatalf("got a certificate (%d bytes), want an error containing %q",
					len(der), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %q", err, tt.is)
			}
		})
	}
}

// wrongKeys are test keys of kinds the hierarchy refuses. TEST KEYS.
type wrongKeys struct {
	p256, p384, p521 *ecdsa.PrivateKey
	rsa              *rsa.PrivateKey
	ed               ed25519.PrivateKey
}

func newWrongKeys(t *testing.T) wrongKeys {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("generate RSA test key: %v", err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("generate Ed25519 test key: %v", err)
	}
	return wrongKeys{testKey(t, elliptic.P256()), testKey(t, elliptic.P384()),
		testKey(t, elliptic.P521()), rk, ek}
}

// withCert returns iss with a copy of its certificate changed by f.
func withCert(iss pki.Issuer, f func(c *x509.Certificate)) pki.Issuer {
	c := *iss.Cert
	f(&c)
	iss.Cert = &c
	return iss
}

// Serials that no certificate may have.
var (
	zeroSerial     = big.NewInt(0)
	negativeSerial = big.NewInt(-5)
	hugeSerial     = new(big.Int).Lsh(big.NewInt(1), 160)
)

func TestCreateRootErrors(t *testing.T) {
	now := time.Now()
	k := newWrongKeys(t)
	good := k.p384
	var typedNil *ecdsa.PrivateKey
	root := func(s crypto.Signer, serial *big.Int, org string, at time.Time) func() ([]byte,
		error) {
		return func() ([]byte, error) { return pki.CreateRoot(s, serial, org, at) }
	}
	runErrorCases(t, []errorCase{
		{"nil signer", root(nil, big.NewInt(1), testOrg, now), "root signer is nil", nil},
		{"typed nil signer", root(typedNil, big.NewInt(1), testOrg, now), "signer is nil", nil},
		{"P-256", root(k.p256, big.NewInt(1), testOrg, now),
			"root key must be ECDSA P-384, got ECDSA P-256", nil},
		{"P-521", root(k.p521, big.NewInt(1), testOrg, now), "got ECDSA P-521", nil},
		{"RSA", root(k.rsa, big.NewInt(1), testOrg, now), "got RSA 2048", nil},
		{"Ed25519", root(k.ed, big.NewInt(1), testOrg, now), "got Ed25519", nil},
		{"nil serial", root(good, nil, testOrg, now), "serial is nil", nil},
		{"zero serial", root(good, zeroSerial, testOrg, now), "serial must be positive", nil},
		{"negative serial", root(good, negativeSerial, testOrg, now), "must be positive", nil},
		{"huge serial", root(good, hugeSerial, testOrg, now), "longer than 20 octets", nil},
		{"empty org", root(good, big.NewInt(1), "", now), "organization is empty", nil},
		{"long org", root(good, big.NewInt(1), strings.Repeat("o", 65), now),
			"longer than 64", nil},
		{"org newline", root(good, big.NewInt(1), "Hall\nmark", now), "control", nil},
		{"org bad UTF-8", root(good, big.NewInt(1), "Hall\xffmark", now), "UTF-8", nil},
		{"zero time", root(good, big.NewInt(1), testOrg, time.Time{}), "time is zero", nil},
	})
}

func TestCreateIntermediateErrors(t *testing.T) {
	now := time.Now()
	k := newWrongKeys(t)
	p := newTestPKINow(t, now)
	pub := k.p384.Public()
	s := big.NewInt(1)
	inter := func(iss pki.Issuer, pub crypto.PublicKey, serial *big.Int, org string,
		at time.Time) func() ([]byte, error) {
		return func() ([]byte, error) { return pki.CreateIntermediate(iss, pub, serial, org, at) }
	}
	noSigner := p.root
	noSigner.Signer = nil
	otherSigner := p.root
	otherSigner.Signer = k.p384
	runErrorCases(t, []errorCase{
		{"P-256 key", inter(p.root, k.p256.Public(), s, testOrg, now),
			"intermediate key must be ECDSA P-384, got ECDSA P-256", nil},
		{"RSA key", inter(p.root, k.rsa.Public(), s, testOrg, now), "got RSA 2048", nil},
		{"nil key", inter(p.root, nil, s, testOrg, now), "got no key", nil},
		{"typed nil key", inter(p.root, (*ecdsa.PublicKey)(nil), s, testOrg, now),
			"got no key", nil},
		{"nil serial", inter(p.root, pub, nil, testOrg, now), "serial is nil", nil},
		{"zero serial", inter(p.root, pub, zeroSerial, testOrg, now), "positive", nil},
		{"empty org", inter(p.root, pub, s, "", now), "organization is empty", nil},
		{"no issuer", inter(pki.Issuer{}, pub, s, testOrg, now), "no certificate", nil},
		{"issuer without signer", inter(noSigner, pub, s, testOrg, now),
			"issuer signer is nil", nil},
		{"issuer with another key", inter(otherSigner, pub, s, testOrg, now),
			"does not hold the key", nil},
		{"issuer on P-256", inter(p.tenant, pub, s, testOrg, now),
			"issuer key must be ECDSA P-384, got ECDSA P-256", nil},
		{"issuer not a CA", inter(withCert(p.root, func(c *x509.Certificate) {
			c.IsCA = false
		}), pub, s, testOrg, now), "not a CA", nil},
		{"issuer cannot sign certificates", inter(withCert(p.root, func(c *x509.Certificate) {
			c.KeyUsage = x509.KeyUsageCRLSign
		}), pub, s, testOrg, now), "keyCertSign", nil},
		{"issuer without key ID", inter(withCert(p.root, func(c *x509.Certificate) {
			c.SubjectKeyId = nil
		}), pub, s, testOrg, now), "no subject key identifier", nil},
		{"issuer expired", inter(p.root, pub, s, testOrg, now.AddDate(26, 0, 0)),
			"outside", pki.ErrIssuerNotValid},
		{"issuer not yet valid", inter(p.root, pub, s, testOrg, now.Add(-time.Hour)),
			"outside", pki.ErrIssuerNotValid},
		{"bad CRL URL", inter(pki.Issuer{Cert: p.root.Cert, Signer: p.root.Signer,
			CRLURL: "ftp://pki.example.test/root.crl"}, pub, s, testOrg, now),
			"issuer CRL URL", nil},
		{"relative cert URL", inter(pki.Issuer{Cert: p.root.Cert, Signer: p.root.Signer,
			CertURL: "/root.cer"}, pub, s, testOrg, now), "issuer certificate URL", nil},
		{"cert URL with space", inter(pki.Issuer{Cert: p.root.Cert, Signer: p.root.Signer,
			CertURL: "http://pki.example.test/a b"}, pub, s, testOrg, now),
			"issuer certificate URL", nil},
		{"zero time", inter(p.root, pub, s, testOrg, time.Time{}), "time is zero", nil},
	})
}

func TestCreateTenantCAErrors(t *testing.T) {
	now := time.Now()
	k := newWrongKeys(t)
	p := newTestPKINow(t, now)
	pub := k.p256.Public()
	s := big.NewInt(1)
	tenant := func(iss pki.Issuer, pub crypto.PublicKey, serial *big.Int,
		change func(*pki.TenantCAInfo), at time.Time) func() ([]byte, error) {
		info := testTenantInfo()
		if change != nil {
			change(&info)
		}
		return func() ([]byte, error) { return pki.CreateTenantCA(iss, pub, serial, info, at) }
	}
	runErrorCases(t, []errorCase{
		{"P-384 key", tenant(p.inter, k.p384.Public(), s, nil, now),
			"tenant CA key must be ECDSA P-256, got ECDSA P-384", nil},
		{"Ed25519 key", tenant(p.inter, k.ed.Public(), s, nil, now), "got Ed25519", nil},
		{"nil key", tenant(p.inter, nil, s, nil, now), "got no key", nil},
		{"nil serial", tenant(p.inter, pub, nil, nil, now), "serial is nil", nil},
		{"negative serial", tenant(p.inter, pub, negativeSerial, nil, now), "positive", nil},
		{"empty org", tenant(p.inter, pub, s, func(i *pki.TenantCAInfo) { i.Org = "" }, now),
			"organization is empty", nil},
		{"empty tenant ID", tenant(p.inter, pub, s,
			func(i *pki.TenantCAInfo) { i.TenantID = "" }, now), "tenant ID is empty", nil},
		{"long tenant ID", tenant(p.inter, pub, s,
			func(i *pki.TenantCAInfo) { i.TenantID = strings.Repeat("x", 65) }, now),
			"tenant ID is longer than 64", nil},
		{"empty tenant name", tenant(p.inter, pub, s,
			func(i *pki.TenantCAInfo) { i.TenantName = "" }, now), "tenant name is empty", nil},
		{"blank tenant name", tenant(p.inter, pub, s,
			func(i *pki.TenantCAInfo) { i.TenantName = "   " }, now), "blank", nil},
		{"tenant name with control", tenant(p.inter, pub, s,
			func(i *pki.TenantCAInfo) { i.TenantName = "a\x1bb" }, now), "control", nil},
		{"generation zero", tenant(p.inter, pub, s,
			func(i *pki.TenantCAInfo) { i.Generation = 0 }, now), "generation 0", nil},
		{"generation negative", tenant(p.inter, pub, s,
			func(i *pki.TenantCAInfo) { i.Generation = -2 }, now), "generation -2", nil},
		{"issuer on P-256", tenant(p.tenant, pub, s, nil, now),
			"issuer key must be ECDSA P-384, got ECDSA P-256", nil},
		{"issuer expired", tenant(p.inter, pub, s, nil, now.AddDate(11, 0, 0)), "outside",
			pki.ErrIssuerNotValid},
		{"no issuer", tenant(pki.Issuer{}, pub, s, nil, now), "no certificate", nil},
	})
}

func TestCreateProofErrors(t *testing.T) {
	now := time.Now()
	p := newTestPKINow(t, now)
	s := big.NewInt(1)
	proof := func(iss pki.Issuer, code string, serial *big.Int, at time.Time,
		life time.Duration) func() ([]byte, error) {
		return func() ([]byte, error) { return pki.CreateProof(iss, code, serial, at, life) }
	}
	noSigner := p.tenant
	noSigner.Signer = nil
	runErrorCases(t, []errorCase{
		{"lifetime over an hour", proof(p.tenant, testCode, s, now, time.Hour+time.Second),
			"1h0m1s is longer than 1h0m0s", pki.ErrProofLifetime},
		{"lifetime a day", proof(p.tenant, testCode, s, now, 24*time.Hour), "longer",
			pki.ErrProofLifetime},
		{"negative lifetime", proof(p.tenant, testCode, s, now, -time.Minute), "negative",
			pki.ErrProofLifetime},
		{"empty code", proof(p.tenant, "", s, now, 0), "empty", pki.ErrVerificationCode},
		{"code with space", proof(p.tenant, testCode+" ", s, now, 0), "offset 48",
			pki.ErrVerificationCode},
		{"code too short", proof(p.tenant, "abc", s, now, 0), "3 characters",
			pki.ErrVerificationCode},
		{"nil serial", proof(p.tenant, testCode, nil, now, 0), "serial is nil", nil},
		{"huge serial", proof(p.tenant, testCode, hugeSerial, now, 0), "20 octets", nil},
		{"issuer on P-384", proof(p.inter, testCode, s, now, 0),
			"issuer key must be ECDSA P-256, got ECDSA P-384", nil},
		{"issuer without signer", proof(noSigner, testCode, s, now, 0), "signer is nil", nil},
		{"issuer not a CA", proof(withCert(p.tenant, func(c *x509.Certificate) {
			c.BasicConstraintsValid = false
		}), testCode, s, now, 0), "not a CA", nil},
		{"issuer expired", proof(p.tenant, testCode, s, now.AddDate(3, 0, 0), 0), "outside",
			pki.ErrIssuerNotValid},
		{"zero time", proof(p.tenant, testCode, s, time.Time{}, 0), "time is zero", nil},
	})
}

func TestCreateCRLErrors(t *testing.T) {
	now := time.Now()
	k := newWrongKeys(t)
	p := newTestPKINow(t, now)
	next := now.Add(time.Hour)
	entry := []x509.RevocationListEntry{{SerialNumber: big.NewInt(9), RevocationTime: now}}
	crl := func(iss pki.Issuer, number int64, revoked []x509.RevocationListEntry, at,
		next time.Time) func() ([]byte, error) {
		return func() ([]byte, error) { return pki.CreateCRL(iss, number, revoked, at, next) }
	}
	otherSigner := p.tenant
	otherSigner.Signer = k.p256
	runErrorCases(t, []errorCase{
		{"next before now", crl(p.tenant, 1, nil, now, now.Add(-time.Hour)), "not after", nil},
		{"next equals now", crl(p.tenant, 1, nil, now, now), "not after", nil},
		{"next zero", crl(p.tenant, 1, nil, now, time.Time{}), "next update is zero", nil},
		{"now zero", crl(p.tenant, 1, nil, time.Time{}, next), "time is zero", nil},
		{"negative number", crl(p.tenant, -1, nil, now, next), "CRL number -1", nil},
		{"no issuer", crl(pki.Issuer{}, 1, nil, now, next), "no certificate", nil},
		{"issuer with another key", crl(otherSigner, 1, nil, now, next),
			"does not hold the key", nil},
		{"issuer cannot sign CRLs", crl(withCert(p.tenant, func(c *x509.Certificate) {
			c.KeyUsage = x509.KeyUsageCertSign
		}), 1, nil, now, next), "cRLSign", nil},
		{"issuer not a CA", crl(withCert(p.tenant, func(c *x509.Certificate) {
			c.IsCA = false
		}), 1, nil, now, next), "not a CA", nil},
		{"issuer on P-521", crl(withCert(p.tenant, func(c *x509.Certificate) {
			c.PublicKey = k.p521.Public()
		}), 1, nil, now, next), "issuer key must be ECDSA P-256 or P-384, got ECDSA P-521",
			nil},
		{"entry without serial", crl(p.tenant, 1, append(entry,
			x509.RevocationListEntry{RevocationTime: now}), now, next),
			"revoked entry 1: serial is nil", nil},
		{"entry with zero serial", crl(p.tenant, 1, []x509.RevocationListEntry{
			{SerialNumber: zeroSerial, RevocationTime: now}}, now, next),
			"revoked entry 0: serial must be positive", nil},
		{"entry without time", crl(p.tenant, 1, []x509.RevocationListEntry{
			{SerialNumber: big.NewInt(3)}}, now, next),
			"revoked entry 0: revocation time is zero", nil},
	})
}
