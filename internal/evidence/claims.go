package evidence

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on the claims. [Sign] refuses claims beyond them and [Parse] rejects
// evidence that carries such claims.
const (
	NonceSize     = 32  // bytes in eat_nonce
	MaxComponents = 64  // entries in components
	MaxTextLen    = 128 // bytes in a component name or version
)

// Component is one measured boot stage.
type Component struct {
	Name    string
	Version string
	Digest  [32]byte // SHA-256 of the stage's image
	SVN     uint64   // security version number
}

// Claims is what a device asserts in its evidence.
type Claims struct {
	Nonce      []byte    // the DAA's challenge, NonceSize bytes
	IssuedAt   time.Time // sent as whole seconds
	Components []Component
	KeyBinding [32]byte // see KeyBindingOf
}

// KeyBindingOf returns the SHA-256 of the DER SubjectPublicKeyInfo of pub: the
// key_binding claim of evidence made for a certificate request carrying pub.
func KeyBindingOf(pub crypto.PublicKey) ([32]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [32]byte{}, fmt.Errorf("evidence: key binding: %w", err)
	}
	return sha256.Sum256(der), nil
}

// validate checks the rules that both Sign and Parse enforce and that the
// Go types do not.
func (c *Claims) validate() error {
	if len(c.Nonce) != NonceSize {
		return newError(CodeClaimInvalid, "claim %s must be %d bytes, got %d",
			nameNonce, NonceSize, len(c.Nonce))
	}
	if c.IssuedAt.Unix() < 0 {
		return newError(CodeClaimInvalid, "claim %s is before 1970", nameIssuedAt)
	}
	if c.KeyBinding == ([32]byte{}) {
		return newError(CodeClaimInvalid, "claim %s is all zero", nameKeyBinding)
	}

	n := len(c.Components)
	if n == 0 || n > MaxComponents {
		return newError(CodeClaimInvalid, "claim %s must have 1 to %d entries, got %d",
			nameComponents, MaxComponents, n)
	}
	seen := make(map[string]bool, n)
	for i, comp := range c.Components {
		what := fmt.Sprintf("claim %s[%d]", nameComponents, i)
		if err := checkText(comp.Name); err != nil {
			return newError(CodeClaimInvalid, "%s name (1): %v", what, err)
		}
		if err := checkText(comp.Version); err != nil {
			return newError(CodeClaimInvalid, "%s version (2): %v", what, err)
		}
		if seen[comp.Name] {
			return newError(CodeClaimInvalid, "%s: duplicate name %q", what, comp.Name)
		}
		seen[comp.Name] = true
	}
	return nil
}

// checkText enforces the rules for component names and versions.
func checkText(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	if len(s) > MaxTextLen {
		return fmt.Errorf("%d bytes, more than %d", len(s), MaxTextLen)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// clone returns a deep copy of c.
func (c Claims) clone() Claims {
	c.Nonce = append([]byte(nil), c.Nonce...)
	c.Components = append([]Component(nil), c.Components...)
	return c
}
