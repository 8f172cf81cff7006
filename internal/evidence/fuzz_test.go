package evidence_test

import (
	"crypto/sha256"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/hallmark-project/hallmark/internal/evidence"
)

func FuzzParse(f *testing.F) {
	key := newTestKey(f)
	valid, err := evidence.Sign(key, sampleClaims())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(readHex(f, goldenEvidenceFile))
	m, c := newMessage(f, key)
	c[99] = map[any]any{"x": []any{1, "y", []byte{2}}}
	m.payload = encode(f, c)
	f.Add(m.bytes(f))
	f.Add(valid[:len(valid)-1])
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40})

	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := evidence.Parse(b)
		if err != nil {
			var e *evidence.Error
			if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
				t.Fatalf("Parse error %v is not a complete *evidence.Error", err)
			}
			return
		}
		checkLimits(t, ev.Claims())
		if ev.DeviceID().IsZero() {
			t.Error("parsed evidence has a zero device ID")
		}
		if ev.Digest() != sha256.Sum256(b) {
			t.Error("digest is not the SHA-256 of the input")
		}
		if err := ev.Verify(); err != nil {
			var e *evidence.Error
			if !errors.As(err, &e) || e.Code != evidence.CodeSignatureInvalid {
				t.Fatalf("Verify error %v does not have code signature_invalid", err)
			}
		}
	})
}

func checkLimits(t *testing.T, c evidence.Claims) {
	t.Helper()
	if len(c.Nonce) != evidence.NonceSize {
		t.Errorf("nonce is %d bytes", len(c.Nonce))
	}
	if c.IssuedAt.Unix() < 0 {
		t.Errorf("iat %v is before 1970", c.IssuedAt)
	}
	if c.KeyBinding == ([32]byte{}) {
		t.Error("key binding is zero")
	}
	if n := len(c.Components); n < 1 || n > evidence.MaxComponents {
		t.Errorf("%d components", n)
	}
	for _, comp := range c.Components {
		for _, s := range []string{comp.Name, comp.Version} {
			if s == "" || len(s) > evidence.MaxTextLen || !utf8.ValidString(s) {
				t.Errorf("component text %q is out of limits", s)
			}
		}
	}
}
