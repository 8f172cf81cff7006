package attestation_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/attestation"
)

// newTestCertificate returns a self-signed device-like certificate carrying
// exts, signed with a fresh P-256 test key that is thrown away.
func newTestCertificate(tb testing.TB, exts ...pkix.Extension) *x509.Certificate {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	if err != nil {
		tb.Fatal(err)
	}
	notBefore := time.Date(2025, 3, 14, 9, 25, 0, 0, time.UTC)
	tmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(0x4a11a7c),
		Subject:         pkix.Name{CommonName: "hallmark test device"},
		NotBefore:       notBefore,
		NotAfter:        notBefore.Add(24 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	return cert
}

// fixtureExtension is fixtureResult as an extension.
func fixtureExtension(tb testing.TB) pkix.Extension {
	tb.Helper()
	ext, err := fixtureResult().Extension()
	if err != nil {
		tb.Fatal(err)
	}
	return ext
}

func TestExtension(t *testing.T) {
	ext := fixtureExtension(t)
	der, err := fixtureResult().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := pkix.Extension{Id: attestation.OID, Critical: false, Value: der}
	if diff := cmp.Diff(want, ext); diff != "" {
		t.Errorf("Extension() mismatch (-want +got):\n%s", diff)
	}
	if got := attestation.OID.String(); got != "1.3.6.1.4.1.311.98.1" {
		t.Errorf("OID = %s, want 1.3.6.1.4.1.311.98.1", got)
	}

	ext.Id[len(ext.Id)-1] = 99
	if attestation.OID.String() != "1.3.6.1.4.1.311.98.1" {
		t.Error("changing an extension's Id changed OID")
	}
}

func TestFromCertificate(t *testing.T) {
	with := newTestCertificate(t, fixtureExtension(t))
	got, err := attestation.FromCertificate(with)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fixtureResult(), got); diff != "" {
		t.Errorf("FromCertificate mismatch (-want +got):\n%s", diff)
	}
}

func TestFromCertificateRefuses(t *testing.T) {
	critical := fixtureExtension(t)
	critical.Critical = true
	garbage := pkix.Extension{Id: attestation.OID, Value: []byte{0x05, 0x00}}
	version2 := fixtureExtension(t)
	// The value starts 30 81 xx 02 01 01: SEQUENCE, then INTEGER 1.
	if v := version2.Value; v[1] != 0x81 || v[3] != 0x02 || v[4] != 1 || v[5] != 1 {
		t.Fatalf("fixture encoding starts %x, want 3081..020101", v[:6])
	}
	version2.Value[5] = 2

	twice := *newTestCertificate(t, fixtureExtension(t))
	twice.Extensions = append(twice.Extensions, fixtureExtension(t))
	template := &x509.Certificate{ExtraExtensions: []pkix.Extension{fixtureExtension(t)}}

	tests := []struct {
		name string
		cert *x509.Certificate
		is   error  // errors.Is must match, if not nil
		want string // otherwise a *ParseError containing this
	}{
		{"no extension", newTestCertificate(t), attestation.ErrNotPresent, ""},
		{"only in ExtraExtensions", template, attestation.ErrNotPresent, ""},
		{"critical", newTestCertificate(t, critical), nil, "is marked critical"},
		{"present twice", &twice, nil, "appears twice"},
		{"malformed value", newTestCertificate(t, garbage), nil, "malformed DER"},
		{"version 2", newTestCertificate(t, version2), attestation.ErrUnsupportedVersion, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := attestation.FromCertificate(tt.cert)
			if err == nil {
				t.Fatalf("FromCertificate = %+v, want error", r)
			}
			if tt.is != nil {
				if !errors.Is(err, tt.is) {
					t.Errorf("FromCertificate error = %q, want errors.Is %q", err, tt.is)
				}
				return
			}
			var pe *attestation.ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("FromCertificate error = %T %q, want a *ParseError containing %q",
					err, err, tt.want)
			}
		})
	}

	t.Run("nil certificate", func(t *testing.T) {
		_, err := attestation.FromCertificate(nil)
		if err == nil || errors.Is(err, attestation.ErrNotPresent) {
			t.Errorf("FromCertificate(nil) error = %v, want a non-ErrNotPresent error", err)
		}
	})
}

// TestGoldenCertificate keeps testdata/device-cert.pem, the certificate that
// the example reads, carrying fixtureResult. Its signing key is a test key
// that is not kept.
func TestGoldenCertificate(t *testing.T) {
	path := filepath.Join("testdata", "device-cert.pem")
	if *update {
		cert := newTestCertificate(t, fixtureExtension(t))
		data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("%s is not one PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}

	got, err := attestation.FromCertificate(cert)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fixtureResult(), got); diff != "" {
		t.Errorf("FromCertificate(%s) mismatch (-want +got):\n%s", path, diff)
	}
}
