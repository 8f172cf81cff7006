package evidence

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/veraison/go-cose"
)

// Sign returns evidence carrying c, signed by the device identity key. The key
// must be ECDSA P-256; the device ID is derived from key.Public(). The key is
// asked to sign a SHA-256 digest with crypto.SHA256 as options, so hardware
// signers work as well as *ecdsa.PrivateKey.
func Sign(key crypto.Signer, c Claims) ([]byte, error) {
	if key == nil {
		return nil, errors.New("evidence: sign: no identity key")
	}
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, errors.New("evidence: sign: identity key must be ECDSA P-256")
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	kid, err := rawDeviceID(pub)
	if err != nil {
		return nil, err
	}

	payload, err := encodeClaims(&c, ueidOf(kid))
	if err != nil {
		return nil, err
	}
	headers := cose.Headers{
		Protected: cose.ProtectedHeader{
			cose.HeaderLabelAlgorithm: cose.AlgorithmES256,
			cose.HeaderLabelKeyID:     kid,
		},
	}
	msg, err := cose.Sign1(rand.Reader, es256Signer{key}, headers, payload, nil)
	if err != nil {
		return nil, fmt.Errorf("evidence: sign: %w", err)
	}
	return msg, nil
}

// rawDeviceID returns the 64-byte X‖Y form of a P-256 public key, which is the
// device ID before hex encoding.
func rawDeviceID(pub *ecdsa.PublicKey) ([]byte, error) {
	if pub.X == nil || pub.Y == nil {
		return nil, errors.New("evidence: sign: identity key has no coordinates")
	}
	raw, err := pub.Bytes() // 0x04 ‖ X ‖ Y
	if err != nil {
		return nil, fmt.Errorf("evidence: sign: identity key: %w", err)
	}
	return raw[1:], nil
}

// ueidOf returns the ueid claim for a raw device ID.
func ueidOf(kid []byte) []byte {
	sum := sha256.Sum256(kid)
	return append([]byte{ueidTypeRAND}, sum[:]...)
}

// es256Signer adapts a crypto.Signer to COSE: it hashes with SHA-256 itself
// and turns the signer's ASN.1 signature into the fixed-size r ‖ s form.
type es256Signer struct {
	key crypto.Signer
}

func (s es256Signer) Algorithm() cose.Algorithm { return cose.AlgorithmES256 }

func (s es256Signer) Sign(rand io.Reader, content []byte) ([]byte, error) {
	digest := sha256.Sum256(content)
	der, err := s.key.Sign(rand, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("identity key: %w", err)
	}

	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("identity key returned a malformed ECDSA signature")
	}
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
		return nil, errors.New("identity key returned an out-of-range ECDSA signature")
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}
