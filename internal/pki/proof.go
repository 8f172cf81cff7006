package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
	"unicode/utf8"
)

// Bounds of a verification code's length. Azure DPS codes are 48 hex
// characters; the bounds leave room for other formats and keep the code
// within the 64 characters of a common name.
const (
	minCodeLen = 8
	maxCodeLen = 64
)

// ValidateVerificationCode checks that code can be the subject of a
// proof-of-possession certificate: 8 to 64 ASCII letters, digits and '-'.
// The error wraps ErrVerificationCode and says what is wrong, without
// repeating the code.
func ValidateVerificationCode(code string) error {
	if code == "" {
		return fmt.Errorf("%w: empty", ErrVerificationCode)
	}
	for i := 0; i < len(code); {
		c, size := utf8.DecodeRuneInString(code[i:])
		if c == utf8.RuneError && size == 1 {
			return fmt.Errorf("%w: byte %#x at offset %d is not UTF-8", ErrVerificationCode,
				code[i], i)
		}
		if !isCodeChar(c) {
			return fmt.Errorf("%w: character %q at offset %d is not an ASCII letter, "+
				"digit or '-'", ErrVerificationCode, c, i)
		}
		i += size
	}
	if n := len(code); n < minCodeLen || n > maxCodeLen {
		return fmt.Errorf("%w: %d characters, want %d to %d", ErrVerificationCode, n,
			minCodeLen, maxCodeLen)
	}
	return nil
}

func isCodeChar(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

// CreateProof returns a proof-of-possession certificate signed by the tenant
// CA ca: subject CN = code exactly, for a throwaway P-256 key made here and
// dropped, so that the certificate proves only that ca signed it. It is valid
// from Backdate before now until now plus lifetime (0 means MaxProofLifetime),
// cut to ca's notAfter. It is not a CA, has key usage digitalSignature only
// and no extended key usage; as its key is gone, nobody can authenticate with
// it.
func CreateProof(ca Issuer, code string, serial *big.Int, now time.Time,
	lifetime time.Duration) ([]byte, error) {
	der, err := createProof(ca, code, serial, now, lifetime)
	if err != nil {
		return nil, fmt.Errorf("pki: create proof: %w", err)
	}
	return der, nil
}

func createProof(ca Issuer, code string, serial *big.Int, now time.Time,
	lifetime time.Duration) ([]byte, error) {
	now, err := issuingTime(now)
	if err != nil {
		return nil, err
	}
	if err := ValidateVerificationCode(code); err != nil {
		return nil, err
	}
	switch {
	case lifetime < 0:
		return nil, fmt.Errorf("%w: %v is negative", ErrProofLifetime, lifetime)
	case lifetime == 0:
		lifetime = MaxProofLifetime
	case lifetime > MaxProofLifetime:
		return nil, fmt.Errorf("%w: %v is longer than %v", ErrProofLifetime, lifetime,
			MaxProofLifetime)
	}

	throwaway, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return issue(ca, elliptic.P256(), serial, now, profile{
		subject:  pkix.Name{CommonName: code},
		pub:      &throwaway.PublicKey,
		notAfter: now.Add(lifetime),
		keyUsage: x509.KeyUsageDigitalSignature,
	})
}
