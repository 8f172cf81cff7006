// Package keys defines custody of CA private keys.
//
// A [Backend] creates key pairs and hands out [crypto.Signer] values that sign
// with them. What the store keeps of a key is a reference (store.Key.Ref)
// that only the backend can turn back into a signer: an encrypted key for the
// sealed backend (package keys/sealed), an object ID for a PKCS#11 token
// (package keys/hsm). No backend exposes a private key: the signers it
// returns implement only Public and Sign.
package keys

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"errors"
)

// ErrUnusable means a key reference cannot be turned into a signer by this
// backend: it belongs to another backend, was sealed under another key, or the
// HSM no longer holds the key.
var ErrUnusable = errors.New("key unusable")

// Backend holds CA private keys.
type Backend interface {
	// Name identifies the backend in stored key records ("sealed", "pkcs11").
	Name() string

	// Generate creates an ECDSA key pair on the curve. keyID is the store's
	// ID for the key; backends bind the reference to it. It returns the
	// reference to store and a signer for the new key.
	Generate(ctx context.Context, keyID string, curve elliptic.Curve) (ref []byte,
		s crypto.Signer, err error)

	// Signer returns a signer for a stored reference made by Generate with
	// the same keyID. It fails with an error wrapping ErrUnusable if the
	// reference is not this backend's or does not open.
	Signer(ctx context.Context, keyID string, ref []byte) (crypto.Signer, error)

	// Check reports whether the backend can sign now (for /readyz).
	Check(ctx context.Context) error

	// Close releases the backend's resources.
	Close() error
}
