package pki_test

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/pki"
)

func TestChainVerifiesWithOpenSSL(t *testing.T) {
	now := time.Now()
	p := newTestPKINow(t, now)
	proof := p.proof(t, now)

	dir := t.TempDir()
	root := writeFile(t, dir, "root.pem", pki.EncodePEM(p.root.Cert.Raw))
	inter := writeFile(t, dir, "inter.pem", pki.EncodePEM(p.inter.Cert.Raw))
	chain := writeFile(t, dir, "chain.pem", pki.EncodePEM(p.inter.Cert.Raw, p.tenant.Cert.Raw))
	tenant := writeFile(t, dir, "tenant.pem", pki.EncodePEM(p.tenant.Cert.Raw))
	proofPath := writeFile(t, dir, "proof.pem", pki.EncodePEM(proof.Raw))

	tests := []struct {
		name      string
		untrusted string
		leaf      string
	}{
		{"intermediate", "", inter},
		{"tenant CA", inter, tenant},
		{"proof", chain, proofPath},
	}
	for _, tt := range tests {
		for _, strict := range []bool{false, true} {
			name := tt.name
			args := []string{"verify", "-CAfile", root}
			if strict {
				name += " strict"
				args = append(args, "-x509_strict")
			}
			if tt.untrusted != "" {
				args = append(args, "-untrusted", tt.untrusted)
			}
			args = append(args, tt.leaf)
			t.Run(name, func(t *testing.T) {
				out := mustOpenSSL(t, args...)
				if want := tt.leaf + ": OK"; strings.TrimSpace(out) != want {
					t.Errorf("openssl verify = %q, want %q", out, want)
				}
			})
		}
	}
}

func TestChainVerifiesInGo(t *testing.T) {
	now := time.Now()
	p := newTestPKINow(t, now)
	proof := p.proof(t, now)

	roots := x509.NewCertPool()
	roots.AddCert(p.root.Cert)
	inters := x509.NewCertPool()
	inters.AddCert(p.inter.Cert)
	inters.AddCert(p.tenant.Cert)
	opts := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inters,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	chains, err := proof.Verify(opts)
	if err != nil {
		t.Fatalf("Verify proof: %v", err)
	}
	var got []string
	for _, c := range chains[0] {
		got = append(got, c.Subject.CommonName)
	}
	want := []string{testCode, "Hallmark Tenant CA Contoso G1", "Hallmark Intermediate CA",
		"Hallmark Root CA"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chain (-want +got):\n%s", diff)
	}

	pairs := []struct {
		name          string
		child, parent *x509.Certificate
	}{
		{"intermediate", p.inter.Cert, p.root.Cert},
		{"tenant CA", p.tenant.Cert, p.inter.Cert},
		{"proof", proof, p.tenant.Cert},
	}
	for _, tt := range pairs {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.child.CheckSignatureFrom(tt.parent); err != nil {
				t.Errorf("CheckSignatureFrom: %v", err)
			}
			if diff := cmp.Diff(tt.parent.SubjectKeyId, tt.child.AuthorityKeyId); diff != "" {
				t.Errorf("AKID differs from issuer's SKID (-want +got):\n%s", diff)
			}
		})
	}
}
