package pki_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/internal/pki"
)

func TestNewSerial(t *testing.T) {
	const n = 10000
	seen := make(map[string]bool, n)
	for range n {
		s, err := pki.NewSerial(rand.Reader)
		if err != nil {
			t.Fatalf("NewSerial: %v", err)
		}
		if s.Sign() <= 0 {
			t.Fatalf("serial %v is not positive", s)
		}
		if s.BitLen() > 128 {
			t.Fatalf("serial %x is longer than 128 bits", s)
		}
		if seen[s.String()] {
			t.Fatalf("serial %x drawn twice", s)
		}
		seen[s.String()] = true
	}
}

func TestNewSerialRetriesZero(t *testing.T) {
	src := io.MultiReader(bytes.NewReader(make([]byte, 32)), bytes.NewReader([]byte{
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
	}))
	s, err := pki.NewSerial(src)
	if err != nil {
		t.Fatalf("NewSerial: %v", err)
	}
	if s.Int64() != 7 {
		t.Errorf("serial = %v, want 7 after two zero draws", s)
	}
}

func TestNewSerialErrors(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		want string
	}{
		{"nil reader", nil, "no random source"},
		{"short read", bytes.NewReader([]byte{1, 2, 3}), "unexpected EOF"},
		{"empty reader", bytes.NewReader(nil), "EOF"},
		{"only zeros", zeros{}, "only zeros"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := pki.NewSerial(tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewSerial = %v, %v; want error containing %q", s, err, tt.want)
			}
		})
	}
}

// zeros is a broken random source.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
