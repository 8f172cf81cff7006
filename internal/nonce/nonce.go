// Package nonce makes the DAA service's challenge nonces and finds their
// stored form again.
//
// A nonce is 32 bytes that look uniformly random to anyone without the
// installation's nonce key. Its first 16 bytes are the AES-128 encryption,
// under that key, of the time the nonce was made (8 bytes, Unix
// microseconds, big-endian) and 8 random bytes; its last 16 bytes are
// random. The store keeps each nonce under its decrypted form, the key
// (the time, then 24 random bytes), so that the store's index of nonces
// grows at one end, as a log does, rather than taking a write at a random
// place for every challenge and another for every attestation.
//
// What a device cannot predict is the 24 random bytes, 192 bits; what it
// sees is a block cipher's output, which tells it nothing of the time. The
// key is no secret that protects a device or a certificate: someone who has
// it learns when each nonce was made, and can make none that the store
// holds. Every replica on one database reads the same key, from the
// store's meta table, where the first one to start writes it.
package nonce

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

// Size is the length of a nonce and of its stored form.
const Size = 32

// KeySize is the length of a nonce key.
const KeySize = 16

// MetaKey names the store's meta entry that holds the nonce key, in hex.
const MetaKey = "nonce-key"

// A Codec makes nonces under one key and turns them into their stored
// form. It is safe for concurrent use.
type Codec struct {
	block cipher.Block
	rand  io.Reader
}

// New returns a Codec with the KeySize bytes of key, reading randomness
// from r (crypto/rand if r is nil).
func New(key []byte, r io.Reader) (*Codec, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("nonce: key is %d bytes, want %d", len(key), KeySize)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("nonce: key: %w", err)
	}
	if r == nil {
		r = rand.Reader
	}
	return &Codec{block: b, rand: r}, nil
}

// Make returns a new nonce made at now, and its stored form.
func (c *Codec) Make(now time.Time) (nonce, stored []byte, err error) {
	stored = make([]byte, Size)
	binary.BigEndian.PutUint64(stored, uint64(now.UnixMicro()))
	if _, err := io.ReadFull(c.rand, stored[8:]); err != nil {
		return nil, nil, fmt.Errorf("nonce: read random: %w", err)
	}
	nonce = make([]byte, Size)
	c.block.Encrypt(nonce, stored[:aes.BlockSize])
	copy(nonce[aes.BlockSize:], stored[aes.BlockSize:])
	return nonce, stored, nil
}

// Stored returns the stored form of nonce. For Size bytes that are not a
// nonce of this key it returns a value that, but for a chance of 2^-128,
// no stored nonce has, so that the store finds nothing under it.
func (c *Codec) Stored(nonce []byte) ([]byte, error) {
	if len(nonce) != Size {
		return nil, fmt.Errorf("nonce: %d bytes, want %d", len(nonce), Size)
	}
	stored := make([]byte, Size)
	c.block.Decrypt(stored, nonce[:aes.BlockSize])
	copy(stored[aes.BlockSize:], nonce[aes.BlockSize:])
	return stored, nil
}

// Meta is the part of a store that holds the key.
type Meta interface {
	GetMeta(ctx context.Context, key string) (string, error)
	PutMeta(ctx context.Context, key, value string) error
}

// LoadKey returns the installation's nonce key from m, making and storing
// one, read from r (crypto/rand if nil), if there is none yet. When
// several processes start at once, they all return the key that was
// stored first.
func LoadKey(ctx context.Context, m Meta, r io.Reader) ([]byte, error) {
	v, err := m.GetMeta(ctx, MetaKey)
	if errors.Is(err, store.ErrNotFound) {
		if r == nil {
			r = rand.Reader
		}
		key := make([]byte, KeySize)
		if _, err := io.ReadFull(r, key); err != nil {
			return nil, fmt.Errorf("nonce: make key: %w", err)
		}
		err = m.PutMeta(ctx, MetaKey, hex.EncodeToString(key))
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("nonce: store key: %w", err)
		}
		v, err = m.GetMeta(ctx, MetaKey)
	}
	if err != nil {
		return nil, fmt.Errorf("nonce: load key: %w", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) != KeySize {
		return nil, fmt.Errorf("nonce: the store's key %q is not %d bytes in hex", MetaKey,
			KeySize)
	}
	return key, nil
}
