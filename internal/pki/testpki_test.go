package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/pki"
)

// URLs that the test hierarchy publishes. Nothing serves them.
const (
	rootCRLURL    = "http://pki.example.test/root.crl"
	rootCertURL   = "http://pki.example.test/root.cer"
	interCRLURL   = "http://pki.example.test/intermediate.crl"
	interCertURL  = "http://pki.example.test/intermediate.cer"
	tenantCRLURL  = "http://pki.example.test/tenants/t-1/ca-1.crl"
	tenantCertURL = "http://pki.example.test/tenants/t-1/ca-1.cer"
	testOrg       = "Hallmark Test"
	testTenantID  = "t-1"
	testCode      = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
)

// testKey returns a new ECDSA key on curve c. TEST KEY: made for one test and
// never used outside tests.
func testKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatalf("generate test key: %v", err)
	}
	return k
}

// newSerial returns a fresh serial number.
func newSerial(t testing.TB) *big.Int {
	t.Helper()
	s, err := pki.NewSerial(rand.Reader)
	if err != nil {
		t.Fatalf("NewSerial: %v", err)
	}
	return s
}

// parse parses a certificate the package made.
func parse(t testing.TB, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate: %v", err)
	}
	return c
}

// testPKI is an in-memory Hallmark hierarchy on test keys.
type testPKI struct {
	root, inter, tenant pki.Issuer
}

// newTestPKI makes a root at rootAt, its intermediate at interAt and a tenant
// CA at tenantAt.
func newTestPKI(t testing.TB, rootAt, interAt, tenantAt time.Time) *testPKI {
	t.Helper()
	p := &testPKI{}
	rootKey := testKey(t, elliptic.P384())
	der, err := pki.CreateRoot(rootKey, newSerial(t), testOrg, rootAt)
	if err != nil {
		t.Fatalf("CreateRoot: %v", err)
	}
	p.root = pki.Issuer{Cert: parse(t, der), Signer: rootKey, CRLURL: rootCRLURL,
		CertURL: rootCertURL}

	interKey := testKey(t, elliptic.P384())
	der, err = pki.CreateIntermediate(p.root, interKey.Public(), newSerial(t), testOrg,
		interAt)
	if err != nil {
		t.Fatalf("CreateIntermediate: %v", err)
	}
	p.inter = pki.Issuer{Cert: parse(t, der), Signer: interKey, CRLURL: interCRLURL,
		CertURL: interCertURL}

	tenantKey := testKey(t, elliptic.P256())
	der, err = pki.CreateTenantCA(p.inter, tenantKey.Public(), newSerial(t),
		testTenantInfo(), tenantAt)
	if err != nil {
		t.Fatalf("CreateTenantCA: %v", err)
	}
	p.tenant = pki.Issuer{Cert: parse(t, der), Signer: tenantKey, CRLURL: tenantCRLURL,
		CertURL: tenantCertURL}
	return p
}

// newTestPKINow makes the whole hierarchy at now.
func newTestPKINow(t testing.TB, now time.Time) *testPKI {
	t.Helper()
	return newTestPKI(t, now, now, now)
}

func testTenantInfo() pki.TenantCAInfo {
	return pki.TenantCAInfo{TenantID: testTenantID, TenantName: "Contoso", Generation: 1,
		Org: testOrg}
}

// proof issues a proof-of-possession certificate from the test tenant CA.
func (p *testPKI) proof(t testing.TB, now time.Time) *x509.Certificate {
	t.Helper()
	der, err := pki.CreateProof(p.tenant, testCode, newSerial(t), now, 0)
	if err != nil {
		t.Fatalf("CreateProof: %v", err)
	}
	return parse(t, der)
}

// openssl runs the openssl command line tool and returns its combined
// output. A missing openssl fails the test: the tests exist to check the
// certificates against it.
func openssl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required for these tests: %v", err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	return string(out), err
}

// mustOpenSSL is openssl for commands that must succeed.
func mustOpenSSL(t testing.TB, args ...string) string {
	t.Helper()
	out, err := openssl(t, args...)
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// writeFile writes data to name in dir and returns the path.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	return path
}

// textLines returns the lines of openssl's text output, trimmed.
func textLines(out string) []string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines
}

// hasRun reports whether want appears in lines as consecutive lines.
func hasRun(lines, want []string) bool {
	for i := 0; i+len(want) <= len(lines); i++ {
		match := true
		for j, w := range want {
			if lines[i+j] != w {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
