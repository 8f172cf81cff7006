package evidence_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/hallmark-project/hallmark/internal/evidence"
)

// TestKeyBindingOpenSSL compares KeyBindingOf with the SPKI that openssl
// writes for the same key.
func TestKeyBindingOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not found")
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  any
		pub  any
	}{
		{"P-256", newTestKey(t), nil},
		{"P-384", p384, &p384.PublicKey},
		{"Ed25519", ed, ed.Public()},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub := tt.pub
			if pub == nil {
				pub = &tt.key.(*ecdsa.PrivateKey).PublicKey
			}
			der, err := x509.MarshalPKCS8PrivateKey(tt.key)
			if err != nil {
				t.Fatal(err)
			}
			keyFile := filepath.Join(dir, tt.name+".pem")
			pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
			if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(openssl, "pkey", "-in", keyFile,
				"-pubout", "-outform", "DER").Output()
			if err != nil {
				t.Fatalf("openssl pkey: %v", err)
			}

			got, err := evidence.KeyBindingOf(pub)
			if err != nil {
				t.Fatal(err)
			}
			if want := sha256.Sum256(out); got != want {
				t.Errorf("KeyBindingOf = %x, want %x", got, want)
			}
		})
	}
}

func TestKeyBindingUnsupported(t *testing.T) {
	for _, pub := range []any{nil, "not a key", &ecdsa.PublicKey{}} {
		if kb, err := evidence.KeyBindingOf(pub); err == nil {
			t.Errorf("KeyBindingOf(%T) = %x, want an error", pub, kb)
		}
	}
}
