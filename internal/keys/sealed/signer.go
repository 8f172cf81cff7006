package sealed

import (
	"crypto"
	"crypto/ecdsa"
	"fmt"
	"io"
)

// signer signs with an opened key. Its only methods are Public, Sign and
// Format, and Format prints the curve alone, so neither a type assertion nor
// fmt reaches the private key.
type signer struct {
	priv *ecdsa.PrivateKey
}

// Public returns the *ecdsa.PublicKey.
func (s *signer) Public() crypto.PublicKey {
	pub := s.priv.PublicKey
	return &pub
}

// Sign signs digest and returns an ASN.1 DER ECDSA signature.
func (s *signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.priv.Sign(rand, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("sealed: sign: %w", err)
	}
	return sig, nil
}

// Format prints the backend and curve for every verb, never the key.
func (s *signer) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "sealed.signer(%s)", curveName(s.priv.Curve))
}
