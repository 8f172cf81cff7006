package evidence_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/evidence"
)

// opaqueSigner hides the concrete key type, as a TPM or HSM backend does,
// and insists on the options such backends need.
type opaqueSigner struct {
	key *ecdsa.PrivateKey
	sig []byte // if set, returned instead of a real signature
	err error  // if set, returned instead of a signature
}

func (s opaqueSigner) Public() crypto.PublicKey { return &s.key.PublicKey }

func (s opaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts == nil || opts.HashFunc() != crypto.SHA256 || len(digest) != 32 {
		return nil, fmt.Errorf("signer wants a SHA-256 digest, got %d bytes with %v",
			len(digest), opts)
	}
	if s.err != nil {
		return nil, s.err
	}
	if s.sig != nil {
		return s.sig, nil
	}
	return s.key.Sign(r, digest, opts)
}

func TestSignOpaqueSigner(t *testing.T) {
	b, err := evidence.Sign(opaqueSigner{key: newTestKey(t)}, sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evidence.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Verify(); err != nil {
		t.Fatal(err)
	}
}

func TestSignBadKey(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	failing := errors.New("token removed")
	tests := []struct {
		name string
		key  crypto.Signer
		want string
	}{
		{"nil", nil, "no identity key"},
		{"P-384", p384, "must be ECDSA P-256"},
		{"Ed25519", ed, "must be ECDSA P-256"},
		{"RSA", rsaKey, "must be ECDSA P-256"},
		{"signer fails", opaqueSigner{key: newTestKey(t), err: failing}, "token removed"},
		{"signature not DER", opaqueSigner{key: newTestKey(t), sig: []byte{1, 2, 3}},
			"malformed ECDSA signature"},
		{"signature trailing bytes", opaqueSigner{key: newTestKey(t),
			sig: []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00}},
			"malformed ECDSA signature"},
		{"signature r zero", opaqueSigner{key: newTestKey(t),
			sig: []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01}},
			"out-of-range ECDSA signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := evidence.Sign(tt.key, sampleClaims())
			if err == nil {
				t.Fatalf("Sign succeeded with %d bytes", len(b))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestSignBadClaims(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *evidence.Claims)
		want string
	}{
		{"no nonce", func(c *evidence.Claims) { c.Nonce = nil }, "must be 32 bytes, got 0"},
		{"short nonce", func(c *evidence.Claims) { c.Nonce = c.Nonce[:31] },
			"must be 32 bytes, got 31"},
		{"zero time", func(c *evidence.Claims) { c.IssuedAt = time.Time{} }, "before 1970"},
		{"zero key binding", func(c *evidence.Claims) { c.KeyBinding = [32]byte{} }, "all zero"},
		{"no components", func(c *evidence.Claims) { c.Components = nil }, "got 0"},
		{"too many components", func(c *evidence.Claims) {
			c.Components = make([]evidence.Component, evidence.MaxComponents+1)
		}, "got 65"},
		{"empty name", func(c *evidence.Claims) { c.Components[2].Name = "" },
			"[2] name (1): empty"},
		{"empty version", func(c *evidence.Claims) { c.Components[0].Version = "" },
			"[0] version (2): empty"},
		{"name not UTF-8", func(c *evidence.Claims) { c.Components[0].Name = "\xc3" },
			"not valid UTF-8"},
		{"name with tab", func(c *evidence.Claims) { c.Components[0].Name = "a\tb" },
			"control character U+0009"},
		{"long version", func(c *evidence.Claims) {
			c.Components[1].Version = strings.Repeat("v", evidence.MaxTextLen+1)
		}, "129 bytes"},
		{"duplicate name", func(c *evidence.Claims) { c.Components[2].Name = "kernel" },
			"duplicate name \"kernel\""},
	}
	key := newTestKey(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleClaims()
			tt.edit(&c)
			_, err := evidence.Sign(key, c)
			var e *evidence.Error
			if !errors.As(err, &e) || e.Code != evidence.CodeClaimInvalid {
				t.Fatalf("Sign = %v, want code %q", err, evidence.CodeClaimInvalid)
			}
			if !strings.Contains(e.Message, tt.want) {
				t.Errorf("message %q does not contain %q", e.Message, tt.want)
			}
		})
	}
}
