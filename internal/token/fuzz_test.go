package token_test

import (
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/internal/token"
)

func FuzzHash(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.secret)
	}
	f.Add("")
	f.Add("hm_" + strings.Repeat("_", 43))
	f.Add("hm_" + strings.Repeat("A", 42) + "=")
	f.Fuzz(func(t *testing.T, secret string) {
		hash, err := token.Hash(secret)
		if err != nil {
			if hash != nil {
				t.Fatalf("Hash returned %x with error %v", hash, err)
			}
			return
		}
		if len(secret) != token.SecretLen || !strings.HasPrefix(secret, token.Prefix) {
			t.Fatalf("Hash accepted %q", secret)
		}
		again, err := token.Hash(secret)
		if err != nil || !token.Equal(hash, again) {
			t.Fatalf("Hash(%q) is not stable: %x, %x, %v", secret, hash, again, err)
		}
		got, err := token.FromHeader("Bearer " + secret)
		if err != nil || got != secret {
			t.Fatalf("FromHeader of a valid secret = %q, %v", got, err)
		}
	})
}

func FuzzFromHeader(f *testing.F) {
	for _, v := range vectors {
		f.Add("Bearer " + v.secret)
		f.Add("bearer  " + v.secret)
	}
	f.Add("")
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("Bearer")
	f.Fuzz(func(t *testing.T, h string) {
		secret, err := token.FromHeader(h)
		if err != nil {
			if secret != "" {
				t.Fatalf("FromHeader returned %q with error %v", secret, err)
			}
			return
		}
		if !strings.HasSuffix(h, " "+secret) || !strings.EqualFold(h[:7], "bearer ") ||
			len(h) != len("Bearer ")+len(secret) {
			t.Fatalf("FromHeader(%q) = %q", h, secret)
		}
		if _, err := token.Hash(secret); err != nil {
			t.Fatalf("FromHeader(%q) = %q, which Hash refuses: %v", h, secret, err)
		}
	})
}
