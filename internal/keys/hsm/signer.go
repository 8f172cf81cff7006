package hsm

import (
	"crypto"
	"fmt"
	"io"

	"github.com/ThalesGroup/crypto11"
)

// signer signs with a key on the token. It wraps the crypto11 key so that
// callers see only Public and Sign, not Delete or the token context.
type signer struct {
	key   crypto11.Signer
	keyID string
}

// Public returns the *ecdsa.PublicKey.
func (s *signer) Public() crypto.PublicKey { return s.key.Public() }

// Sign has the token sign digest and returns an ASN.1 DER ECDSA signature.
// The token picks its own randomness; rand is ignored.
func (s *signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.key.Sign(rand, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("pkcs11: sign with key %q: %w", s.keyID, err)
	}
	return sig, nil
}

// Format prints the backend and key ID for every verb.
func (s *signer) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "pkcs11.signer(%q)", s.keyID)
}
