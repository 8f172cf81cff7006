package pki_test

import (
	"crypto/elliptic"
	"crypto/x509"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hallmark-project/hallmark/internal/pki"
)

// TestProfilesWithOpenSSL checks each certificate's profile as openssl
// prints it.
func TestProfilesWithOpenSSL(t *testing.T) {
	now := time.Now()
	p := newTestPKINow(t, now)
	proof := p.proof(t, now)

	caUsage := []string{"X509v3 Key Usage: critical", "Certificate Sign, CRL Sign"}
	tests := []struct {
		name    string
		cert    *x509.Certificate
		want    [][]string // runs of consecutive lines
		notWant []string   // substrings
	}{
		{
			name: "root",
			cert: p.root.Cert,
			want: [][]string{
				{"Signature Algorithm: ecdsa-with-SHA384"},
				{"Issuer: O = Hallmark Test, CN = Hallmark Root CA"},
				{"Subject: O = Hallmark Test, CN = Hallmark Root CA"},
				{"Public-Key: (384 bit)"},
				{"NIST CURVE: P-384"},
				{"X509v3 Basic Constraints: critical", "CA:TRUE"},
				caUsage,
				{"X509v3 Subject Key Identifier:"},
			},
			notWant: []string{"pathlen", "CRL Distribution Points", "Authority Information",
				"Extended Key Usage"},
		},
		{
			name: "intermediate",
			cert: p.inter.Cert,
			want: [][]string{
				{"Signature Algorithm: ecdsa-with-SHA384"},
				{"Issuer: O = Hallmark Test, CN = Hallmark Root CA"},
				{"Subject: O = Hallmark Test, CN = Hallmark Intermediate CA"},
				{"Public-Key: (384 bit)"},
				{"NIST CURVE: P-384"},
				{"X509v3 Basic Constraints: critical", "CA:TRUE, pathlen:1"},
				caUsage,
				{"X509v3 Subject Key Identifier:"},
				{"X509v3 Authority Key Identifier:"},
				{"X509v3 CRL Distribution Points:", "Full Name:", "URI:" + rootCRLURL},
				{"Authority Information Access:", "CA Issuers - URI:" + rootCertURL},
			},
			notWant: []string{"Extended Key Usage"},
		},
		{
			name: "tenant CA",
			cert: p.tenant.Cert,
			want: [][]string{
				{"Signature Algorithm: ecdsa-with-SHA384"},
				{"Issuer: O = Hallmark Test, CN = Hallmark Intermediate CA"},
				{"Subject: O = Hallmark Test, OU = t-1, CN = Hallmark Tenant CA Contoso G1"},
				{"Public-Key: (256 bit)"},
				{"NIST CURVE: P-256"},
				{"X509v3 Basic Constraints: critical", "CA:TRUE, pathlen:0"},
				caUsage,
				{"X509v3 Subject Key Identifier:"},
				{"X509v3 Authority Key Identifier:"},
				{"X509v3 CRL Distribution Points:", "Full Name:", "URI:" + interCRLURL},
				{"Authority Information Access:", "CA Issuers - URI:" + interCertURL},
			},
			notWant: []string{"Extended Key Usage"},
		},
		{
			name: "proof",
			cert: proof,
			want: [][]string{
				{"Signature Algorithm: ecdsa-with-SHA256"},
				{"Issuer: O = Hallmark Test, OU = t-1, CN = Hallmark Tenant CA Contoso G1"},
				{"Subject: CN = " + testCode},
				{"Public-Key: (256 bit)"},
				{"NIST CURVE: P-256"},
				{"X509v3 Basic Constraints: critical", "CA:FALSE"},
				{"X509v3 Key Usage: critical", "Digital Signature"},
				{"X509v3 Authority Key Identifier:"},
				{"X509v3 CRL Distribution Points:", "Full Name:", "URI:" + tenantCRLURL},
				{"Authority Information Access:", "CA Issuers - URI:" + tenantCertURL},
			},
			notWant: []string{"Extended Key Usage", "Certificate Sign", "pathlen"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "cert.pem", pki.EncodePEM(tt.cert.Raw))
			out := mustOpenSSL(t, "x509", "-in", path, "-noout", "-text")
			lines := textLines(out)
			for _, w := range tt.want {
				if !hasRun(lines, w) {
					t.Errorf("openssl x509 -text lacks %q\n%s", w, out)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(out, nw) {
					t.Errorf("openssl x509 -text has %q\n%s", nw, out)
				}
			}
		})
	}
}

// TestValidity checks serials and validity periods as Go parses them,
// against the issuing time the test passed in.
func TestValidity(t *testing.T) {
	now := time.Now()
	at := now.UTC().Truncate(time.Second)
	p := newTestPKINow(t, now)

	serial := newSerial(t)
	der, err := pki.CreateProof(p.tenant, testCode, serial, now, 10*time.Minute)
	if err != nil {
		t.Fatalf("CreateProof: %v", err)
	}
	short := parse(t, der)

	tests := []struct {
		name     string
		cert     *x509.Certificate
		notAfter time.Time
	}{
		{"root", p.root.Cert, at.AddDate(25, 0, 0)},
		{"intermediate", p.inter.Cert, at.AddDate(10, 0, 0)},
		{"tenant CA", p.tenant.Cert, at.AddDate(2, 0, 0)},
		{"proof default lifetime", p.proof(t, now), at.Add(time.Hour)},
		{"proof 10 minutes", short, at.Add(10 * time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want := at.Add(-5 * time.Minute); !tt.cert.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %v, want %v", tt.cert.NotBefore, want)
			}
			if !tt.cert.NotAfter.Equal(tt.notAfter) {
				t.Errorf("NotAfter = %v, want %v", tt.cert.NotAfter, tt.notAfter)
			}
			if s := tt.cert.SerialNumber; s.Sign() <= 0 || s.BitLen() > 128 {
				t.Errorf("serial %x is not positive or longer than 128 bits", s)
			}
		})
	}
	if short.SerialNumber.Cmp(serial) != 0 {
		t.Errorf("serial = %x, want %x", short.SerialNumber, serial)
	}
}

// TestNotAfterCutToIssuer checks that a certificate issued near the end of
// its issuer's life ends with the issuer.
func TestNotAfterCutToIssuer(t *testing.T) {
	now := time.Now()

	// The root ends in 30 days, so the intermediate is cut.
	rootEnds := newTestPKI(t, now.AddDate(-25, 0, 30), now, now)
	// The intermediate ends in 30 days, so the tenant CA is cut.
	interEnds := newTestPKI(t, now.AddDate(-10, 0, 30), now.AddDate(-10, 0, 30), now)
	// The tenant CA ends in 30 minutes, so the proof is cut.
	tenantAt := now.AddDate(-2, 0, 0).Add(30 * time.Minute)
	tenantEnds := newTestPKI(t, tenantAt, tenantAt, tenantAt)

	tests := []struct {
		name   string
		child  *x509.Certificate
		issuer *x509.Certificate
	}{
		{"intermediate", rootEnds.inter.Cert, rootEnds.root.Cert},
		{"tenant CA", interEnds.tenant.Cert, interEnds.inter.Cert},
		{"proof", tenantEnds.proof(t, now), tenantEnds.tenant.Cert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.child.NotAfter.Equal(tt.issuer.NotAfter) {
				t.Errorf("NotAfter = %v, want the issuer's %v", tt.child.NotAfter,
					tt.issuer.NotAfter)
			}
		})
	}
}

func TestTenantCommonName(t *testing.T) {
	now := time.Now()
	p := newTestPKINow(t, now)

	tests := []struct {
		name       string
		tenantName string
		generation int
		want       string
	}{
		{"short", "Contoso", 2, "Hallmark Tenant CA Contoso G2"},
		{"spaces trimmed", "  Contoso Ltd  ", 1, "Hallmark Tenant CA Contoso Ltd G1"},
		{"long cut", strings.Repeat("a", 100), 3,
			"Hallmark Tenant CA " + strings.Repeat("a", 42) + " G3"},
		{"long cut at space", strings.Repeat("a", 41) + " " + strings.Repeat("b", 50), 3,
			"Hallmark Tenant CA " + strings.Repeat("a", 41) + " G3"},
		{"long unicode cut by character", strings.Repeat("ü", 100), 12,
			"Hallmark Tenant CA " + strings.Repeat("ü", 41) + " G12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := testTenantInfo()
			info.TenantName = tt.tenantName
			info.Generation = tt.generation
			key := testKey(t, elliptic.P256())
			der, err := pki.CreateTenantCA(p.inter, key.Public(), newSerial(t), info, now)
			if err != nil {
				t.Fatalf("CreateTenantCA: %v", err)
			}
			got := parse(t, der).Subject.CommonName
			if got != tt.want {
				t.Errorf("CN = %q, want %q", got, tt.want)
			}
			if n := utf8.RuneCountInString(got); n > 64 {
				t.Errorf("CN has %d characters, want at most 64", n)
			}
		})
	}
}
