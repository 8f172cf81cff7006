package pki_test

import (
	"bytes"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/pki"
)

func TestPKCS7WithOpenSSL(t *testing.T) {
	now := time.Now()
	p := newTestPKINow(t, now)

	tests := []struct {
		name  string
		ders  [][]byte
		names []string
	}{
		{
			name: "leaf first",
			ders: [][]byte{p.tenant.Cert.Raw, p.inter.Cert.Raw, p.root.Cert.Raw},
			names: []string{"Hallmark Tenant CA Contoso G1", "Hallmark Intermediate CA",
				"Hallmark Root CA"},
		},
		{
			name: "root first",
			ders: [][]byte{p.root.Cert.Raw, p.inter.Cert.Raw, p.tenant.Cert.Raw},
			names: []string{"Hallmark Root CA", "Hallmark Intermediate CA",
				"Hallmark Tenant CA Contoso G1"},
		},
		{
			name:  "one",
			ders:  [][]byte{p.tenant.Cert.Raw},
			names: []string{"Hallmark Tenant CA Contoso G1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p7, err := pki.EncodePKCS7(tt.ders...)
			if err != nil {
				t.Fatalf("EncodePKCS7: %v", err)
			}
			path := writeFile(t, t.TempDir(), "chain.p7b", p7)
			out := mustOpenSSL(t, "pkcs7", "-inform", "DER", "-print_certs", "-in", path)

			var subjects []string
			for _, l := range strings.Split(out, "\n") {
				if s, ok := strings.CutPrefix(l, "subject="); ok {
					subjects = append(subjects, s[strings.LastIndex(s, "CN = ")+5:])
				}
			}
			if diff := cmp.Diff(tt.names, subjects); diff != "" {
				t.Errorf("subjects (-want +got):\n%s\n%s", diff, out)
			}
			if diff := cmp.Diff(tt.ders, pemBlocks(t, out)); diff != "" {
				t.Errorf("certificates differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodePKCS7Errors(t *testing.T) {
	p := newTestPKINow(t, time.Now())
	trailing := append(bytes.Clone(p.root.Cert.Raw), 0)
	tests := []struct {
		name string
		ders [][]byte
		want string
	}{
		{"none", nil, "no certificates"},
		{"empty DER", [][]byte{p.root.Cert.Raw, {}}, "certificate 1"},
		{"garbage", [][]byte{[]byte("not a certificate")}, "certificate 0"},
		{"trailing bytes", [][]byte{trailing}, "certificate 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pki.EncodePKCS7(tt.ders...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("EncodePKCS7 error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEncodePEM(t *testing.T) {
	p := newTestPKINow(t, time.Now())
	want := [][]byte{p.tenant.Cert.Raw, p.inter.Cert.Raw}
	out := pki.EncodePEM(want...)
	if diff := cmp.Diff(want, pemBlocks(t, string(out))); diff != "" {
		t.Errorf("EncodePEM round trip (-want +got):\n%s", diff)
	}
	if got := pki.EncodePEM(); len(got) != 0 {
		t.Errorf("EncodePEM() = %q, want empty", got)
	}
}

func TestThumbprintMatchesOpenSSL(t *testing.T) {
	p := newTestPKINow(t, time.Now())
	path := writeFile(t, t.TempDir(), "root.pem", pki.EncodePEM(p.root.Cert.Raw))
	out := mustOpenSSL(t, "x509", "-in", path, "-noout", "-fingerprint", "-sha256")

	_, fp, ok := strings.Cut(strings.TrimSpace(out), "=")
	if !ok {
		t.Fatalf("unexpected openssl output %q", out)
	}
	want := strings.ToLower(strings.ReplaceAll(fp, ":", ""))
	if got := pki.Thumbprint(p.root.Cert.Raw); got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
}

// pemBlocks returns the DER of the CERTIFICATE blocks in s.
func pemBlocks(t *testing.T, s string) [][]byte {
	t.Helper()
	var ders [][]byte
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return ders
		}
		if b.Type != "CERTIFICATE" {
			t.Fatalf("PEM block of type %q", b.Type)
		}
		ders = append(ders, b.Bytes)
	}
}
