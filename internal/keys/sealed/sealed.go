// Package sealed keeps CA private keys encrypted at rest under a
// key-encryption key (KEK).
//
// [Backend.Generate] creates an ECDSA key, encodes it as PKCS#8 and seals it
// with AES-256-GCM under the KEK. The sealed bytes are the reference that the
// store keeps; [Backend.Signer] opens them again. The additional data of each
// seal names the format version and the store's key ID, so a reference copied
// onto another key record does not open.
//
// A reference is one version byte, a random 12-byte nonce, then the
// ciphertext with its 16-byte tag:
//
//	0x01 | nonce (12) | AES-256-GCM(PKCS#8 key) | tag (16)
//
// The KEK comes from a file ([LoadKEK]) or an environment variable
// ([ParseKEK]) and must never be stored beside the data it protects.
// [Backend.CheckValue] gives a short value derived from the KEK that the
// caller records once and compares at start ([Backend.MatchCheckValue]), so
// a wrong KEK is reported at once rather than at the first signature.
//
// Opened keys live in process memory for as long as their signer does; Go
// gives no way to pin or reliably wipe that memory.
package sealed

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/hallmark-project/hallmark/internal/keys"
)

// KEKSize is the length of a key-encryption key in bytes.
const KEKSize = 32

// ErrWrongKEK means the KEK does not match the check value recorded when the
// keys were sealed.
var ErrWrongKEK = errors.New("sealed: key-encryption key does not match the recorded check value")

const (
	formatV1  = 0x01
	nonceSize = 12
	tagSize   = 16

	// aadLabel separates these seals from any other use of the KEK.
	aadLabel = "hallmark/keys/sealed\x00"
	// checkLabel is the message whose HMAC under the KEK is the check value.
	checkLabel = "hallmark/keys/sealed kek check v1"
)

// Backend seals keys under one KEK. It is safe for concurrent use.
type Backend struct {
	aead  cipher.AEAD
	check string
}

var _ keys.Backend = (*Backend)(nil)

// New returns a backend that seals under kek, which must be [KEKSize] bytes.
// The backend does not keep kek; the caller may clear it after New returns.
func New(kek []byte) (*Backend, error) {
	if len(kek) != KEKSize {
		return nil, fmt.Errorf("sealed: key-encryption key is %d bytes, want %d",
			len(kek), KEKSize)
	}

	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealed: %w", err)
	}

	mac := hmac.New(sha256.New, kek)
	mac.Write([]byte(checkLabel))
	check := hex.EncodeToString(mac.Sum(nil)[:16])
	return &Backend{aead: aead, check: check}, nil
}

// Name returns "sealed".
func (b *Backend) Name() string { return "sealed" }

// CheckValue returns 32 lowercase hex digits derived from the KEK: the first
// 16 bytes of HMAC-SHA256 keyed with the KEK over a fixed label. It reveals
// nothing useful about the KEK. Record it when the first key is sealed and
// pass it to [Backend.MatchCheckValue] at every start.
func (b *Backend) CheckValue() string { return b.check }

// MatchCheckValue reports whether this backend's KEK is the one that produced
// recorded, a value earlier returned by [Backend.CheckValue]. It returns an
// error wrapping [ErrWrongKEK] if not.
func (b *Backend) MatchCheckValue(recorded string) error {
	if !hmac.Equal([]byte(recorded), []byte(b.check)) {
		return fmt.Errorf("%w (recorded %q, this key gives %q)", ErrWrongKEK, recorded, b.check)
	}
	return nil
}

// Generate creates an ECDSA key on curve (P-256, P-384 or P-521) and returns
// it sealed for keyID, with a signer for it.
func (b *Backend) Generate(ctx context.Context, keyID string, curve elliptic.Curve) (
	[]byte, crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("sealed: generate: %w", err)
	}
	if keyID == "" {
		return nil, nil, errors.New("sealed: generate: empty key ID")
	}
	if !supportedCurve(curve) {
		return nil, nil, fmt.Errorf("sealed: generate: unsupported curve %s", curveName(curve))
	}

	priv, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("sealed: generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("sealed: generate: encode key: %w", err)
	}
	defer clear(der)

	ref := make([]byte, 1+nonceSize, 1+nonceSize+len(der)+tagSize)
	ref[0] = formatV1
	if _, err := rand.Read(ref[1:]); err != nil {
		return nil, nil, fmt.Errorf("sealed: generate: nonce: %w", err)
	}
	ref = b.aead.Seal(ref, ref[1:], der, additionalData(formatV1, keyID))
	return ref, &signer{priv: priv}, nil
}

// Signer opens ref, made by Generate for keyID. A reference sealed under
// another KEK or for another key ID, altered, or in an unknown format fails
// with an error wrapping [keys.ErrUnusable].
func (b *Backend) Signer(ctx context.Context, keyID string, ref []byte) (crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sealed: open key %q: %w", keyID, err)
	}
	if len(ref) == 0 {
		return nil, unusable(keyID, "empty reference")
	}
	if ref[0] != formatV1 {
		return nil, unusable(keyID, fmt.Sprintf("unknown format version %d", ref[0]))
	}
	if len(ref) < 1+nonceSize+tagSize {
		return nil, unusable(keyID, fmt.Sprintf("reference too short (%d bytes)", len(ref)))
	}

	nonce, sealed := ref[1:1+nonceSize], ref[1+nonceSize:]
	der, err := b.aead.Open(nil, nonce, sealed, additionalData(ref[0], keyID))
	if err != nil {
		return nil, unusable(keyID,
			"does not open: wrong key-encryption key, altered, or sealed for another key ID")
	}
	defer clear(der)

	parsed, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, unusable(keyID, "sealed content is not a PKCS#8 key")
	}
	priv, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, unusable(keyID, fmt.Sprintf("sealed key is %T, not ECDSA", parsed))
	}
	return &signer{priv: priv}, nil
}

// Check returns nil: a backend that was created can always seal and open.
func (b *Backend) Check(ctx context.Context) error { return nil }

// Close returns nil. The backend holds no resources beyond memory.
func (b *Backend) Close() error { return nil }

// additionalData binds a seal to its format version and key ID.
func additionalData(version byte, keyID string) []byte {
	ad := make([]byte, 0, len(aadLabel)+1+len(keyID))
	ad = append(ad, aadLabel...)
	ad = append(ad, version)
	return append(ad, keyID...)
}

func unusable(keyID, reason string) error {
	return fmt.Errorf("sealed: key %q: %w: %s", keyID, keys.ErrUnusable, reason)
}

func supportedCurve(c elliptic.Curve) bool {
	return c == elliptic.P256() || c == elliptic.P384() || c == elliptic.P521()
}

func curveName(c elliptic.Curve) string {
	if c == nil || c.Params() == nil {
		return "<nil>"
	}
	return c.Params().Name
}
