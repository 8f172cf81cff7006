// Package hsm keeps CA private keys on a PKCS#11 token, such as a hardware
// security module or SoftHSM2.
//
// [Open] loads the token's PKCS#11 module and logs in to the token with the
// user PIN. [Backend.Generate] creates each key pair on the token as a token
// object that is sensitive and not extractable, so the private key never
// leaves it; the backend reads those attributes back and refuses a key that
// lacks them. The reference kept in the store is the key's CKA_ID, which is
// the store's key ID; the private key also carries the CKA_LABEL
// "hallmark:" followed by the key ID, so operators can find it with token
// tools.
//
// The package does not delete keys from the token: retiring a CA leaves its
// key in place for an operator to remove.
package hsm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/hallmark-project/hallmark/internal/keys"
)

// Errors that Open returns, wrapped, for a token it reached but could not use.
var (
	// ErrTokenNotFound means no slot holds a token with the configured label.
	ErrTokenNotFound = errors.New("pkcs11: token not found")
	// ErrWrongPIN means the token refused the user PIN.
	ErrWrongPIN = errors.New("pkcs11: wrong user PIN")
)

// labelPrefix starts the CKA_LABEL of every key the backend creates.
const labelPrefix = "hallmark:"

// Config selects a token and logs in to it.
type Config struct {
	// Module is the path of the PKCS#11 library, for SoftHSM2 on Debian
	// /usr/lib/softhsm/libsofthsm2.so.
	Module string
	// TokenLabel is the label of the token that holds the keys.
	TokenLabel string
	// PIN is the token's user PIN.
	PIN string
}

// Backend holds keys on one PKCS#11 token. It is safe for concurrent use.
type Backend struct {
	ctx   *crypto11.Context
	token string

	closeOnce sync.Once
	closeErr  error // set by closeOnce
}

var _ keys.Backend = (*Backend)(nil)

// Open loads cfg.Module, finds the token labelled cfg.TokenLabel and logs in.
// The caller must Close the backend.
//
// PKCS#11 logs in per process and token, so while another Backend in this
// process is logged in to the same token, Open does not check the PIN.
func Open(cfg Config) (*Backend, error) {
	switch {
	case cfg.Module == "":
		return nil, errors.New("pkcs11: no module path given")
	case cfg.TokenLabel == "":
		return nil, errors.New("pkcs11: no token label given")
	case cfg.PIN == "":
		return nil, errors.New("pkcs11: no user PIN given")
	}
	if _, err := os.Stat(cfg.Module); err != nil {
		return nil, fmt.Errorf("pkcs11: module %s: %w; install the token's PKCS#11 library "+
			"or correct the path", cfg.Module, err)
	}

	ctx, err := crypto11.Configure(&crypto11.Config{
		Path:       cfg.Module,
		TokenLabel: cfg.TokenLabel,
		Pin:        cfg.PIN,
	})
	if err != nil {
		return nil, openError(cfg, err)
	}
	return &Backend{ctx: ctx, token: cfg.TokenLabel}, nil
}

// openError turns a crypto11 configuration error into one that names the
// module or token and wraps a sentinel where one applies.
func openError(cfg Config, err error) error {
	var p11 pkcs11.Error
	switch {
	case errors.As(err, &p11) && p11 == pkcs11.CKR_PIN_INCORRECT:
		return fmt.Errorf("%w for token %q", ErrWrongPIN, cfg.TokenLabel)
	case errors.As(err, &p11) && p11 == pkcs11.CKR_PIN_LOCKED:
		return fmt.Errorf("pkcs11: user PIN of token %q is locked", cfg.TokenLabel)
	case err.Error() == "could not find PKCS#11 token":
		// crypto11 keeps this error unexported; its text is all there is.
		return fmt.Errorf("%w: no token labelled %q in module %s",
			ErrTokenNotFound, cfg.TokenLabel, cfg.Module)
	}
	return fmt.Errorf("pkcs11: open token %q with module %s: %w", cfg.TokenLabel, cfg.Module, err)
}

// Name returns "pkcs11".
func (b *Backend) Name() string { return "pkcs11" }

// Generate creates an ECDSA key pair on curve (P-256, P-384 or P-521) on the
// token, with CKA_ID keyID. It refuses a key ID that the token already holds.
func (b *Backend) Generate(ctx context.Context, keyID string, curve elliptic.Curve) (
	[]byte, crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("pkcs11: generate: %w", err)
	}
	if keyID == "" {
		return nil, nil, errors.New("pkcs11: generate: empty key ID")
	}
	if !supportedCurve(curve) {
		return nil, nil, fmt.Errorf("pkcs11: generate: unsupported curve %s", curveName(curve))
	}

	id, label := []byte(keyID), []byte(labelPrefix+keyID)
	existing, err := b.ctx.FindKeyPairs(id, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("pkcs11: generate key %q: look for existing: %w", keyID, err)
	}
	if len(existing) > 0 {
		return nil, nil, fmt.Errorf("pkcs11: generate key %q: token %q already holds a key "+
			"with this ID", keyID, b.token)
	}

	public, private, err := templates(id, label)
	if err != nil {
		return nil, nil, fmt.Errorf("pkcs11: generate key %q: %w", keyID, err)
	}
	k, err := b.ctx.GenerateECDSAKeyPairWithAttributes(public, private, curve)
	if err != nil {
		return nil, nil, fmt.Errorf("pkcs11: generate key %q: %w", keyID, err)
	}
	if err := b.checkProtected(k); err != nil {
		// The key is useless to us; leaving it would block the key ID.
		if derr := k.Delete(); derr != nil {
			err = errors.Join(err, fmt.Errorf("delete it: %w", derr))
		}
		return nil, nil, fmt.Errorf("pkcs11: generate key %q: %w", keyID, err)
	}
	return id, &signer{key: k, keyID: keyID}, nil
}

// Signer finds the key pair that Generate made for keyID. A reference other
// than keyID, a key the token does not hold, and a key that is not sensitive
// and non-extractable fail with an error wrapping [keys.ErrUnusable].
func (b *Backend) Signer(ctx context.Context, keyID string, ref []byte) (crypto.Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pkcs11: find key %q: %w", keyID, err)
	}
	if keyID == "" || !bytes.Equal(ref, []byte(keyID)) {
		return nil, b.unusable(keyID, "reference is not this key's object ID")
	}

	found, err := b.ctx.FindKeyPairs(ref, []byte(labelPrefix+keyID))
	if err != nil {
		return nil, fmt.Errorf("pkcs11: find key %q on token %q: %w", keyID, b.token, err)
	}
	switch {
	case len(found) == 0:
		return nil, b.unusable(keyID, "token holds no such key pair")
	case len(found) > 1:
		return nil, b.unusable(keyID, fmt.Sprintf("token holds %d key pairs with this ID",
			len(found)))
	}

	k := found[0]
	if _, ok := k.Public().(*ecdsa.PublicKey); !ok {
		return nil, b.unusable(keyID, fmt.Sprintf("key is %T, not ECDSA", k.Public()))
	}
	if err := b.checkProtected(k); err != nil {
		return nil, b.unusable(keyID, err.Error())
	}
	return &signer{key: k, keyID: keyID}, nil
}

// Check asks the token for random bytes, which needs a working session.
func (b *Backend) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pkcs11: check token %q: %w", b.token, err)
	}
	r, err := b.ctx.NewRandomReader()
	if err != nil {
		return fmt.Errorf("pkcs11: check token %q: %w", b.token, err)
	}
	if _, err := r.Read(make([]byte, 8)); err != nil {
		return fmt.Errorf("pkcs11: check token %q: %w", b.token, err)
	}
	return nil
}

// Close logs out, closes the sessions and unloads the module once no other
// backend in the process uses it. Signers from this backend stop working.
// Calling Close again returns nil.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		if err := b.ctx.Close(); err != nil {
			b.closeErr = fmt.Errorf("pkcs11: close token %q: %w", b.token, err)
		}
	})
	return b.closeErr
}

// checkProtected reads back the attributes that keep the private key on the
// token and fails unless they hold.
func (b *Backend) checkProtected(k crypto11.Signer) error {
	want := map[crypto11.AttributeType]bool{
		crypto11.CkaToken:       true,
		crypto11.CkaSensitive:   true,
		crypto11.CkaExtractable: false,
	}
	types := make([]crypto11.AttributeType, 0, len(want))
	for t := range want {
		types = append(types, t)
	}

	got, err := b.ctx.GetAttributes(k, types)
	if err != nil {
		return fmt.Errorf("read key attributes: %w", err)
	}
	for t, v := range want {
		a := got[t]
		if a == nil || len(a.Value) != 1 || (a.Value[0] != 0) != v {
			return fmt.Errorf("private key does not have %s %v", attributeName(t), v)
		}
	}
	return nil
}

func (b *Backend) unusable(keyID, reason string) error {
	return fmt.Errorf("pkcs11: key %q on token %q: %w: %s", keyID, b.token, keys.ErrUnusable,
		reason)
}

func attributeName(t crypto11.AttributeType) string {
	switch t {
	case crypto11.CkaToken:
		return "CKA_TOKEN"
	case crypto11.CkaSensitive:
		return "CKA_SENSITIVE"
	case crypto11.CkaExtractable:
		return "CKA_EXTRACTABLE"
	case crypto11.CkaId:
		return "CKA_ID"
	case crypto11.CkaLabel:
		return "CKA_LABEL"
	}
	return fmt.Sprintf("attribute 0x%x", t)
}

// templates returns the attributes for a new key pair. CKA_TOKEN,
// CKA_SENSITIVE and CKA_EXTRACTABLE are what keep the private key on the token.
func templates(id, label []byte) (public, private crypto11.AttributeSet, err error) {
	public, err = attributeSet(map[crypto11.AttributeType]any{
		crypto11.CkaId:     id,
		crypto11.CkaLabel:  label,
		crypto11.CkaToken:  true,
		crypto11.CkaVerify: true,
	})
	if err != nil {
		return nil, nil, err
	}
	private, err = attributeSet(map[crypto11.AttributeType]any{
		crypto11.CkaId:          id,
		crypto11.CkaLabel:       label,
		crypto11.CkaToken:       true,
		crypto11.CkaPrivate:     true,
		crypto11.CkaSign:        true,
		crypto11.CkaSensitive:   true,
		crypto11.CkaExtractable: false,
	})
	if err != nil {
		return nil, nil, err
	}
	return public, private, nil
}

func attributeSet(values map[crypto11.AttributeType]any) (crypto11.AttributeSet, error) {
	a := crypto11.NewAttributeSet()
	for t, v := range values {
		if err := a.Set(t, v); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", attributeName(t), err)
		}
	}
	return a, nil
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
