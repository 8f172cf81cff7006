package agenttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"

	"github.com/hallmark-project/hallmark/internal/pki"
)

// testOrg is the organization of the throwaway CAs; it marks their
// certificates as test material.
const testOrg = "Hallmark Test Only"

// hierarchy is a throwaway root, intermediate and tenant CA.
type hierarchy struct {
	tenant pki.Issuer
	chain  []*x509.Certificate // the tenant CA, then the intermediate
}

func newHierarchy(now time.Time) (*hierarchy, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootDER, err := pki.CreateRoot(rootKey, serial(), testOrg, now)
	if err != nil {
		return nil, err
	}
	root, err := issuer(rootDER, rootKey)
	if err != nil {
		return nil, err
	}

	interKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	interDER, err := pki.CreateIntermediate(root, &interKey.PublicKey, serial(), testOrg, now)
	if err != nil {
		return nil, err
	}
	inter, err := issuer(interDER, interKey)
	if err != nil {
		return nil, err
	}

	tenantKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tenantDER, err := pki.CreateTenantCA(inter, &tenantKey.PublicKey, serial(),
		pki.TenantCAInfo{TenantID: "test-tenant", TenantName: "test", Generation: 1,
			Org: testOrg}, now)
	if err != nil {
		return nil, err
	}
	tenant, err := issuer(tenantDER, tenantKey)
	if err != nil {
		return nil, err
	}
	return &hierarchy{tenant: tenant, chain: []*x509.Certificate{tenant.Cert, inter.Cert}}, nil
}

func issuer(der []byte, key crypto.Signer) (pki.Issuer, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return pki.Issuer{}, err
	}
	return pki.Issuer{Cert: cert, Signer: key}, nil
}

// issue signs a device certificate as in iss: with the profile of package
// pki when iss is a proper one, or from a plain template for a tampered
// issuance that pki refuses to make.
func (h *hierarchy) issue(iss *Issuance, now time.Time) ([]byte, error) {
	var ext *pkix.Extension
	if iss.Result != nil {
		e, err := iss.Result.Extension()
		if err != nil {
			return nil, err
		}
		ext = &e
	}
	if ext != nil && len(iss.CommonName) == 128 {
		der, _, err := pki.CreateDevice(h.tenant, iss.PublicKey, serial(),
			pki.DeviceInfo{DeviceID: iss.CommonName, Result: *ext, Lifetime: iss.Lifetime}, now)
		return der, err
	}

	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: iss.CommonName},
		NotBefore:    now.Add(-pki.Backdate),
		NotAfter:     now.Add(iss.Lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if ext != nil {
		tmpl.ExtraExtensions = []pkix.Extension{*ext}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, h.tenant.Cert, iss.PublicKey,
		h.tenant.Signer)
	if err != nil {
		return nil, fmt.Errorf("sign tampered certificate: %w", err)
	}
	return der, nil
}

// serial returns a random serial number; rand.Reader does not fail.
func serial() *big.Int {
	s, err := pki.NewSerial(rand.Reader)
	if err != nil {
		panic("agenttest: " + err.Error())
	}
	return s
}
