package pki_test

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/pki"
)

// crlPEM creates a CRL and returns it as PEM.
func crlPEM(t *testing.T, iss pki.Issuer, number int64, revoked []x509.RevocationListEntry,
	now time.Time) []byte {
	t.Helper()
	der, err := pki.CreateCRL(iss, number, revoked, now, now.Add(24*time.Hour))
	if err != nil {
		t.Fatalf("CreateCRL: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

func TestCRLWithOpenSSL(t *testing.T) {
	now := time.Now()
	p := newTestPKINow(t, now)
	revoked := p.proof(t, now)
	good := p.proof(t, now)

	entries := []x509.RevocationListEntry{
		{SerialNumber: revoked.SerialNumber, RevocationTime: now, ReasonCode: 4},
	}
	tenantCRL := crlPEM(t, p.tenant, 7, entries, now)
	dir := t.TempDir()
	crlPath := writeFile(t, dir, "tenant.crl.pem", tenantCRL)

	out := mustOpenSSL(t, "crl", "-in", crlPath, "-noout", "-text")
	lines := textLines(out)
	serialHex := strings.ToUpper(hex.EncodeToString(revoked.SerialNumber.Bytes()))
	for _, w := range [][]string{
		{"Issuer: O = Hallmark Test, OU = t-1, CN = Hallmark Tenant CA Contoso G1"},
		{"X509v3 CRL Number:", "7"},
		{"X509v3 Authority Key Identifier:"},
		{"Serial Number: " + serialHex},
		{"X509v3 CRL Reason Code:", "Superseded"},
		{"Signature Algorithm: ecdsa-with-SHA256"},
	} {
		if !hasRun(lines, w) {
			t.Errorf("openssl crl -text lacks %q\n%s", w, out)
		}
	}

	// With -crl_check_all openssl wants a CRL from every CA in the chain.
	all := append(crlPEM(t, p.root, 1, nil, now), crlPEM(t, p.inter, 1, nil, now)...)
	all = append(all, tenantCRL...)
	allPath := writeFile(t, dir, "all.crl.pem", all)
	root := writeFile(t, dir, "root.pem", pki.EncodePEM(p.root.Cert.Raw))
	chain := writeFile(t, dir, "chain.pem", pki.EncodePEM(p.inter.Cert.Raw, p.tenant.Cert.Raw))
	revokedPath := writeFile(t, dir, "revoked.pem", pki.EncodePEM(revoked.Raw))
	goodPath := writeFile(t, dir, "good.pem", pki.EncodePEM(good.Raw))

	tests := []struct {
		name    string
		check   string
		crls    string
		leaf    string
		revoked bool
	}{
		{"revoked leaf CRL", "-crl_check", crlPath, revokedPath, true},
		{"good leaf CRL", "-crl_check", crlPath, goodPath, false},
		{"revoked all CRLs", "-crl_check_all", allPath, revokedPath, true},
		{"good all CRLs", "-crl_check_all", allPath, goodPath, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := openssl(t, "verify", "-x509_strict", tt.check, "-CRLfile", tt.crls,
				"-CAfile", root, "-untrusted", chain, tt.leaf)
			switch {
			case tt.revoked && (err == nil || !strings.Contains(out, "certificate revoked")):
				t.Errorf("openssl verify accepted a revoked certificate: %v\n%s", err, out)
			case !tt.revoked && err != nil:
				t.Errorf("openssl verify: %v\n%s", err, out)
			case !tt.revoked && strings.TrimSpace(out) != tt.leaf+": OK":
				t.Errorf("openssl verify = %q, want OK", out)
			}
		})
	}
}

func TestCRLInGo(t *testing.T) {
	now := time.Now()
	at := now.UTC().Truncate(time.Second)
	p := newTestPKINow(t, now)
	proof := p.proof(t, now)

	der, err := pki.CreateCRL(p.tenant, 3, []x509.RevocationListEntry{
		{SerialNumber: proof.SerialNumber, RevocationTime: now},
	}, now, now.Add(time.Hour))
	if err != nil {
		t.Fatalf("CreateCRL: %v", err)
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatalf("ParseRevocationList: %v", err)
	}
	if err := crl.CheckSignatureFrom(p.tenant.Cert); err != nil {
		t.Errorf("CheckSignatureFrom: %v", err)
	}

	type summary struct {
		Number     int64
		ThisUpdate time.Time
		NextUpdate time.Time
		AKID       []byte
		Serials    []string
	}
	got := summary{crl.Number.Int64(), crl.ThisUpdate, crl.NextUpdate, crl.AuthorityKeyId,
		nil}
	for _, e := range crl.RevokedCertificateEntries {
		got.Serials = append(got.Serials, e.SerialNumber.String())
	}
	want := summary{3, at, at.Add(time.Hour), p.tenant.Cert.SubjectKeyId,
		[]string{proof.SerialNumber.String()}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CRL (-want +got):\n%s", diff)
	}
}
