package pki

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Upper bounds of subject attributes in characters (RFC 5280 appendix A).
const (
	maxOrg = 64
	maxOU  = 64
	maxCN  = 64
)

// Subject common names of the CAs.
const (
	rootCN         = "Hallmark Root CA"
	intermediateCN = "Hallmark Intermediate CA"
	tenantCNPrefix = "Hallmark Tenant CA "
)

// caUsage is the key usage of every CA: it signs certificates and CRLs.
const caUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign

// CreateRoot returns a self-signed root CA certificate for signer's key,
// which must be ECDSA P-384. Its subject is CN "Hallmark Root CA", O org; it
// is valid from Backdate before now for RootLifetime from now.
//
// The root carries no path length constraint, as is usual for roots: the
// intermediates it signs carry the constraint, and a later intermediate
// profile needs no new root.
func CreateRoot(signer crypto.Signer, serial *big.Int, org string,
	now time.Time) ([]byte, error) {
	der, err := createRoot(signer, serial, org, now)
	if err != nil {
		return nil, fmt.Errorf("pki: create root: %w", err)
	}
	return der, nil
}

func createRoot(signer crypto.Signer, serial *big.Int, org string,
	now time.Time) ([]byte, error) {
	now, err := issuingTime(now)
	if err != nil {
		return nil, err
	}
	pub, err := signerKey("root", signer)
	if err != nil {
		return nil, err
	}
	key, err := ecKey("root", pub, elliptic.P384())
	if err != nil {
		return nil, err
	}
	if err := checkText("organization", org, maxOrg); err != nil {
		return nil, err
	}

	tmpl, err := newTemplate(serial, now, profile{
		subject:  pkix.Name{Organization: []string{org}, CommonName: rootCN},
		pub:      key,
		notAfter: RootLifetime.After(now),
		isCA:     true,
		pathLen:  -1,
		keyUsage: caUsage,
	})
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key, signer)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return der, nil
}

// CreateIntermediate returns an intermediate CA certificate for pub, which
// must be ECDSA P-384, signed by root. Its subject is CN "Hallmark
// Intermediate CA", O org; it has path length 1 and is valid from Backdate
// before now for IntermediateLifetime from now, cut to the root's notAfter.
func CreateIntermediate(root Issuer, pub crypto.PublicKey, serial *big.Int, org string,
	now time.Time) ([]byte, error) {
	der, err := createIntermediate(root, pub, serial, org, now)
	if err != nil {
		return nil, fmt.Errorf("pki: create intermediate: %w", err)
	}
	return der, nil
}

func createIntermediate(root Issuer, pub crypto.PublicKey, serial *big.Int, org string,
	now time.Time) ([]byte, error) {
	now, err := issuingTime(now)
	if err != nil {
		return nil, err
	}
	key, err := ecKey("intermediate", pub, elliptic.P384())
	if err != nil {
		return nil, err
	}
	if err := checkText("organization", org, maxOrg); err != nil {
		return nil, err
	}

	return issue(root, elliptic.P384(), serial, now, profile{
		subject:  pkix.Name{Organization: []string{org}, CommonName: intermediateCN},
		pub:      key,
		notAfter: IntermediateLifetime.After(now),
		isCA:     true,
		pathLen:  1,
		keyUsage: caUsage,
	})
}

// TenantCAInfo names a tenant CA.
type TenantCAInfo struct {
	TenantID   string // subject OU, at most 64 characters
	TenantName string // in the subject CN, shortened to fit
	Generation int    // 1 for the tenant's first CA, one more at each rollover
	Org        string // subject O
}

// CreateTenantCA returns a tenant CA certificate for pub, which must be ECDSA
// P-256, signed by the intermediate inter. Its subject is O t.Org, OU
// t.TenantID, CN "Hallmark Tenant CA <name> G<generation>" (the name cut so
// that the CN fits in 64 characters); it has path length 0 and is valid from
// Backdate before now for TenantCALifetime from now, cut to the intermediate's
// notAfter.
func CreateTenantCA(inter Issuer, pub crypto.PublicKey, serial *big.Int, t TenantCAInfo,
	now time.Time) ([]byte, error) {
	der, err := createTenantCA(inter, pub, serial, t, now)
	if err != nil {
		return nil, fmt.Errorf("pki: create tenant CA: %w", err)
	}
	return der, nil
}

func createTenantCA(inter Issuer, pub crypto.PublicKey, serial *big.Int, t TenantCAInfo,
	now time.Time) ([]byte, error) {
	now, err := issuingTime(now)
	if err != nil {
		return nil, err
	}
	key, err := ecKey("tenant CA", pub, elliptic.P256())
	if err != nil {
		return nil, err
	}
	cn, err := t.check()
	if err != nil {
		return nil, err
	}

	return issue(inter, elliptic.P384(), serial, now, profile{
		subject: pkix.Name{
			Organization:       []string{t.Org},
			OrganizationalUnit: []string{t.TenantID},
			CommonName:         cn,
		},
		pub:      key,
		notAfter: TenantCALifetime.After(now),
		isCA:     true,
		pathLen:  0,
		keyUsage: caUsage,
	})
}

// check checks t and returns the tenant CA's common name.
func (t TenantCAInfo) check() (string, error) {
	if err := checkText("organization", t.Org, maxOrg); err != nil {
		return "", err
	}
	if err := checkText("tenant ID", t.TenantID, maxOU); err != nil {
		return "", err
	}
	if err := checkText("tenant name", t.TenantName, 0); err != nil {
		return "", err
	}
	if strings.TrimSpace(t.TenantName) == "" {
		return "", errors.New("tenant name is blank")
	}
	if t.Generation < 1 {
		return "", fmt.Errorf("tenant CA generation %d is not positive", t.Generation)
	}
	return tenantCN(t.TenantName, t.Generation), nil
}

// tenantCN returns the common name of a tenant's CA. It trims spaces around
// the name and cuts it at a character boundary so that the whole fits in
// maxCN characters.
func tenantCN(name string, generation int) string {
	name = strings.TrimSpace(name)
	suffix := " G" + strconv.Itoa(generation)
	room := maxCN - utf8.RuneCountInString(tenantCNPrefix) - len(suffix)
	if r := []rune(name); len(r) > room {
		name = strings.TrimRight(string(r[:room]), " ")
	}
	return tenantCNPrefix + name + suffix
}
