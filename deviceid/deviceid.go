// Package deviceid defines the identity of a Hallmark device.
//
// A device's identity key is an ECDSA P-256 key pair born in its silicon. Its
// ID is the lowercase hexadecimal encoding of the 64-byte X‖Y coordinates of
// the public key: 128 characters that never change and that fit the device ID
// limit of IoT hubs. Because the ID is the key, registering a device needs no
// separate key upload, and the verifier can check a device's signatures from
// its ID alone.
//
// [Parse] accepts only IDs that are 128 lowercase hex characters naming a point
// on P-256; every ID value held in a variable of type [ID] is therefore valid.
package deviceid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"errors"
	"fmt"
)

// Len is the length of a device ID in characters.
const Len = 128

// Errors returned by [Parse], wrapped in a [*ParseError].
var (
	ErrLength   = errors.New("device ID must be 128 characters")
	ErrNotHex   = errors.New("device ID must be lowercase hexadecimal")
	ErrNotPoint = errors.New("device ID is not a point on P-256")
)

// ParseError reports why a string is not a device ID.
type ParseError struct {
	Input string // the input, cut to 16 characters
	Err   error  // ErrLength, ErrNotHex or ErrNotPoint
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid device ID %q: %v", e.Input, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ID is a validated device ID. The zero value is not a valid ID; [ID.IsZero]
// reports it.
type ID struct {
	s string
}

// Parse checks s and returns it as an ID.
func Parse(s string) (ID, error) {
	fail := func(err error) (ID, error) {
		in := s
		if len(in) > 16 {
			in = in[:16] + "…"
		}
		return ID{}, &ParseError{Input: in, Err: err}
	}
	if len(s) != Len {
		return fail(ErrLength)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fail(ErrNotHex)
		}
	}
	if _, err := publicKey(s); err != nil {
		return fail(ErrNotPoint)
	}
	return ID{s: s}, nil
}

// FromPublicKey returns the ID of a P-256 public key.
func FromPublicKey(pub *ecdsa.PublicKey) (ID, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return ID{}, errors.New("device identity key must be ECDSA P-256")
	}
	if pub.X == nil || pub.Y == nil {
		// crypto/ecdsa dereferences the coordinates without checking them.
		return ID{}, errors.New("device identity key has no coordinates")
	}
	raw, err := pub.Bytes() // 0x04 ‖ X ‖ Y
	if err != nil {
		return ID{}, fmt.Errorf("encode device identity key: %w", err)
	}
	return ID{s: hex.EncodeToString(raw[1:])}, nil
}

// PublicKey returns the identity public key that the ID encodes.
func (id ID) PublicKey() (*ecdsa.PublicKey, error) {
	if id.s == "" {
		return nil, errors.New("zero device ID has no public key")
	}
	return publicKey(id.s)
}

func publicKey(s string) (*ecdsa.PublicKey, error) {
	raw, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, raw...))
}

// String returns the 128-character form of the ID.
func (id ID) String() string { return id.s }

// IsZero reports whether id is the zero value.
func (id ID) IsZero() bool { return id.s == "" }

// MarshalText implements [encoding.TextMarshaler].
func (id ID) MarshalText() ([]byte, error) {
	if id.s == "" {
		return nil, errors.New("marshal zero device ID")
	}
	return []byte(id.s), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [Parse].
func (id *ID) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
