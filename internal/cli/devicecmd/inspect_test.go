package devicecmd

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/internal/agent"
)

// attested runs agent attest against a fake DAA and returns the device ID
// and the credentials directory.
func attested(t *testing.T) (string, string) {
	t.Helper()
	daa, caFile := newDAA(t)
	dev := newDevice(t)
	run(t, nil, dev.args("attest", "--server", daa.URL, "--ca-file", caFile)...).ok(t)
	id := run(t, nil, "agent", "id", "--key", dev.key)
	id.ok(t)
	return strings.TrimSpace(id.stdout), dev.out
}

func TestInspectText(t *testing.T) {
	id, dir := attested(t)
	r := run(t, nil, "cert", "inspect", filepath.Join(dir, agent.CertFile))
	r.ok(t)
	kernel := sha256.Sum256([]byte("kernel 6.1"))
	for _, want := range []string{
		"subject        CN=" + id,
		"issuer         CN=Hallmark Tenant CA test G1",
		"key usage      digitalSignature\n",
		"ext key usage  clientAuth\n",
		"\nattestation result:\n  verdict          affirming\n",
		"  catalogue        1\n",
		"    loader  1.1      affirming  " +
			"5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\n",
		"    kernel  6.1      affirming  " + hex.EncodeToString(kernel[:]) + "\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output does not contain %q:\n%s", want, r.stdout)
		}
	}
}

func TestInspectJSON(t *testing.T) {
	id, dir := attested(t)
	path := filepath.Join(dir, agent.FullChainFile) // the first certificate counts
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
	}{
		{"flag", nil, []string{"cert", "inspect", path, "--output", "json"}},
		{"environment", map[string]string{"HALLMARK_OUTPUT": "json"},
			[]string{"cert", "inspect", path}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.vars, tc.args...)
			r.ok(t)
			var got certView
			dec := json.NewDecoder(strings.NewReader(r.stdout))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("decode %s: %v", r.stdout, err)
			}
			if got.Subject != "CN="+id || len(got.Serial) == 0 ||
				len(got.Attestation.EvidenceDigest) != 64 {
				t.Errorf("subject %q, serial %q, evidence digest %q", got.Subject, got.Serial,
					got.Attestation.EvidenceDigest)
			}
			if diff := cmp.Diff([]string{"digitalSignature"}, got.KeyUsage); diff != "" {
				t.Errorf("key usage (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"clientAuth"}, got.ExtKeyUsage); diff != "" {
				t.Errorf("ext key usage (-want +got):\n%s", diff)
			}
			kernel := sha256.Sum256([]byte("kernel 6.1"))
			want := []componentView{
				{Name: "loader", Version: "1.1", Verdict: attestation.Affirming,
					Digest: "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"},
				{Name: "kernel", Version: "6.1", Verdict: attestation.Affirming,
					Digest: hex.EncodeToString(kernel[:])},
			}
			if diff := cmp.Diff(want, got.Attestation.Components); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
			if got.Attestation.Verdict != attestation.Affirming ||
				got.Attestation.CatalogueVersion != 1 {
				t.Errorf("verdict %v, catalogue %d", got.Attestation.Verdict,
					got.Attestation.CatalogueVersion)
			}
		})
	}
}

// TestInspectForms reads the certificate as DER and from standard input.
func TestInspectForms(t *testing.T) {
	_, dir := attested(t)
	pemData, err := os.ReadFile(filepath.Join(dir, agent.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	cert := parseCert(t, pemData)
	der := filepath.Join(t.TempDir(), "cert.der")
	if err := os.WriteFile(der, cert.Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "cert", "inspect", der).ok(t)

	var stdout, stderr bytes.Buffer
	e := &env{stdin: bytes.NewReader(pemData), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" }}
	if err := e.dispatch(context.Background(), "cert", certCommands,
		[]string{"inspect", "-"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "affirming") {
		t.Errorf("output from standard input:\n%s", stdout.String())
	}
}

func TestInspectErrors(t *testing.T) {
	_, dir := attested(t)
	tmp := t.TempDir()
	file := func(name, data string) string {
		path := filepath.Join(tmp, name)
		writeFile(t, path, data)
		return path
	}
	for _, tc := range []struct {
		name, path, want, hint string
	}{
		{"CA certificate", filepath.Join(dir, agent.ChainFile),
			"no attestation result in the certificate", "CA or proof-of-possession"},
		{"malformed result", file("bad-result.pem", pemCert(certWithResult(t, []byte{0x30, 0}))),
			"invalid attestation result in the certificate", ""},
		{"missing file", filepath.Join(tmp, "absent.pem"), "no such file", ""},
		{"not a certificate", file("garbage.der", "garbage"), "parse certificate",
			"PEM or DER"},
		{"key PEM", file("key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n"+
			"-----END PRIVATE KEY-----\n"), "no CERTIFICATE block", ""},
		{"broken PEM", file("broken.pem", "-----BEGIN CERTIFICATE-----\n"),
			"no CERTIFICATE block", ""},
		{"too large", file("large.pem", strings.Repeat("x", maxCertFile+1)), "larger than",
			""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, nil, "cert", "inspect", tc.path).wantError(t, tc.want, tc.hint)
		})
	}
}

// certWithResult returns a self-signed test certificate whose attestation
// extension holds value.
func certWithResult(t *testing.T, value []byte) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(1),
		Subject:         pkix.Name{CommonName: "test only"},
		NotBefore:       time.Now().Add(-time.Hour),
		NotAfter:        time.Now().Add(time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: attestation.OID, Value: value}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func parseCert(t *testing.T, pemData []byte) *x509.Certificate {
	t.Helper()
	cert, err := (&env{stdin: bytes.NewReader(pemData)}).readCertificate("-")
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
