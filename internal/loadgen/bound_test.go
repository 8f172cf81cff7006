package loadgen

import (
	"crypto/rand"
	"crypto/x509"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
)

func TestMeasureBound(t *testing.T) {
	b, err := measureBound(10*time.Millisecond, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if b.Iterations < 5 {
		t.Errorf("%d rounds, want at least 5", b.Iterations)
	}
	for name, d := range map[string]time.Duration{"evidence verify": b.EvidenceVerify,
		"CSR check": b.CSRCheck, "certificate": b.CertCreate} {
		if d <= 0 {
			t.Errorf("%s took %v per round, want > 0", name, d)
		}
	}
	want := 3 * float64(time.Second) / float64(b.PerAttestation())
	if got := b.PerSecond(); got != want || got <= 0 {
		t.Errorf("PerSecond() = %v, want 3 cores / %v = %v", got, b.PerAttestation(), want)
	}
	if got := (bound{ServerCores: 2}).PerSecond(); got != 0 {
		t.Errorf("PerSecond of an unmeasured bound = %v, want 0", got)
	}
}

// TestBoundFaster: of two measurements the one with less time per
// attestation counts, and an unmeasured one never does.
func TestBoundFaster(t *testing.T) {
	slow := bound{EvidenceVerify: 100, CSRCheck: 100, CertCreate: 200, When: "slow"}
	fast := bound{EvidenceVerify: 90, CSRCheck: 90, CertCreate: 180, When: "fast"}
	for _, tc := range []struct {
		a, b bound
		want string
	}{
		{slow, fast, "fast"},
		{fast, slow, "fast"},
		{fast, bound{When: "unmeasured"}, "fast"},
	} {
		if got := tc.a.faster(tc.b).When; got != tc.want {
			t.Errorf("%s.faster(%s) = %s, want %s", tc.a.When, tc.b.When, got, tc.want)
		}
	}
}

// TestBoundCertificateIsDeviceLike checks that the bound signs what the CA
// engine signs: a device certificate that chains to its CA and carries an
// attestation result.
func TestBoundCertificateIsDeviceLike(t *testing.T) {
	w, err := newBoundWork()
	if err != nil {
		t.Fatal(err)
	}
	w.template.SerialNumber = w.caCert.SerialNumber
	der, err := x509.CreateCertificate(rand.Reader, w.template, w.caCert, w.csr.PublicKey,
		w.caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(w.caCert); err != nil {
		t.Errorf("certificate does not chain to the bound's CA: %v", err)
	}
	if _, err := attestation.FromCertificate(cert); err != nil {
		t.Errorf("certificate has no attestation result: %v", err)
	}
	ext := 0
	for _, e := range cert.Extensions {
		if e.Id.Equal(attestation.OID) {
			ext = len(e.Value)
		}
	}
	if ext < 150 || ext > 400 {
		t.Errorf("attestation result extension is %d bytes, want about 200", ext)
	}
	if cert.Subject.CommonName != w.template.Subject.CommonName ||
		len(cert.Subject.CommonName) != 128 {
		t.Errorf("CN %q, want the 128-character device ID", cert.Subject.CommonName)
	}
}
