// Package token makes and checks the bearer tokens of Hallmark's admin API.
//
// A token has two parts. The secret, shown to its owner once, is "hm_"
// followed by 256 random bits in unpadded base64url (43 characters); the
// prefix lets secret scanners find leaked tokens. Only the SHA-256 hash of
// the secret is stored, and hashes are compared in constant time with
// [Equal]. The ID, "tok_" and 16 hex digits, is public: it names the token in
// listings, audit entries and revocations.
//
// [Hash] and [FromHeader] accept only secrets in exactly the form [New] makes
// them, so a malformed secret is refused before any lookup. Roles are the
// four of [store.Role]; checking what a role may do is for the caller.
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/hallmark-project/hallmark/internal/store"
)

// Prefix starts every secret.
const Prefix = "hm_"

// SecretLen is the length of a secret in characters.
const SecretLen = len(Prefix) + 43

// IDPrefix starts every token ID.
const IDPrefix = "tok_"

const (
	secretBytes = 32 // 256 bits
	idBytes     = 8  // 16 hex digits
)

// Errors about a secret. Callers answer both with 401.
var (
	ErrMissing   = errors.New("missing bearer token")
	ErrMalformed = errors.New("malformed bearer token")
)

// ErrUnknownRole is returned by [ParseRole].
var ErrUnknownRole = errors.New("unknown role")

var secretEncoding = base64.RawURLEncoding.Strict()

// New returns a new secret read from r, normally crypto/rand.Reader (which
// a nil r means), and its hash for the store.
func New(r io.Reader) (secret string, hash []byte, err error) {
	b := make([]byte, secretBytes)
	if err := read(r, b); err != nil {
		return "", nil, fmt.Errorf("make token secret: %w", err)
	}
	secret = Prefix + secretEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(secret))
	return secret, sum[:], nil
}

// Hash checks that secret has the form New gives and returns its SHA-256
// hash. Anything else is ErrMalformed.
func Hash(secret string) ([]byte, error) {
	if err := check(secret); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(secret))
	return sum[:], nil
}

// Equal reports, in time that depends only on their lengths, whether a and
// b are the same hash. Slices that are not SHA-256 hashes are never equal.
func Equal(a, b []byte) bool {
	if len(a) != sha256.Size || len(b) != sha256.Size {
		return false
	}
	return subtle.ConstantTimeCompare(a, b) == 1
}

// NewID returns a new token ID read from r, normally crypto/rand.Reader
// (which a nil r means).
func NewID(r io.Reader) (string, error) {
	b := make([]byte, idBytes)
	if err := read(r, b); err != nil {
		return "", fmt.Errorf("make token ID: %w", err)
	}
	return IDPrefix + hex.EncodeToString(b), nil
}

// FromHeader returns the secret in the value of an Authorization header,
// which must be "Bearer " (the scheme in any case) followed by a secret in
// the form New gives. An empty value is ErrMissing; anything else that does
// not fit is ErrMalformed.
func FromHeader(h string) (string, error) {
	if h == "" {
		return "", ErrMissing
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "bearer") {
		return "", fmt.Errorf("%w: authorization scheme is not Bearer", ErrMalformed)
	}
	if !ok || secret == "" {
		return "", fmt.Errorf("%w: no token after Bearer", ErrMalformed)
	}
	if err := check(secret); err != nil {
		return "", err
	}
	return secret, nil
}

// ParseRole returns the role named s, which must be one of the four roles
// of package store, spelt exactly.
func ParseRole(s string) (store.Role, error) {
	switch r := store.Role(s); r {
	case store.RoleOperator, store.RoleManufacturer, store.RoleTenantAdmin,
		store.RoleTenantReader:
		return r, nil
	}
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return "", fmt.Errorf("%w %q", ErrUnknownRole, s)
}

// IsTenantRole reports whether r belongs to a tenant, so that a token with
// it must name one.
func IsTenantRole(r store.Role) bool {
	return r == store.RoleTenantAdmin || r == store.RoleTenantReader
}

// check reports whether secret has the form New gives. The form is not
// secret, so the check need not take constant time.
func check(secret string) error {
	if len(secret) != SecretLen {
		return fmt.Errorf("%w: want %d characters", ErrMalformed, SecretLen)
	}
	if !strings.HasPrefix(secret, Prefix) {
		return fmt.Errorf("%w: want prefix %q", ErrMalformed, Prefix)
	}
	body := secret[len(Prefix):]
	for i := 0; i < len(body); i++ {
		if !isBase64URL(body[i]) {
			return fmt.Errorf("%w: character %d is not base64url", ErrMalformed,
				len(Prefix)+i+1)
		}
	}
	// Strict decoding refuses a last character with stray low bits, so each
	// token has exactly one spelling.
	if _, err := secretEncoding.DecodeString(body); err != nil {
		return fmt.Errorf("%w: not canonical base64url", ErrMalformed)
	}
	return nil
}

func isBase64URL(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_'
}

// read fills b from r, or from crypto/rand if r is nil.
func read(r io.Reader, b []byte) error {
	if r == nil {
		rand.Read(b) // never fails; it crashes the program instead
		return nil
	}
	_, err := io.ReadFull(r, b)
	return err
}
