package token_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/token"
)

// Test vectors: secrets from fixed bytes, hashed with openssl dgst -sha256.
// They are test tokens and grant nothing anywhere.
var vectors = []struct {
	name   string
	random []byte
	secret string
	hash   string
}{
	{
		name:   "zeros",
		random: make([]byte, 32),
		secret: "hm_" + strings.Repeat("A", 43),
		hash:   "4365c699cec4245f9cd56f01e3455c8b8fed836c47e53f4885695a027337e416",
	},
	{
		name:   "ones",
		random: bytes.Repeat([]byte{0xff}, 32),
		secret: "hm_" + strings.Repeat("_", 42) + "8",
		hash:   "6c3244826230611515facd6ebdacccfc159acff1ac0455a57c8ef6428fe41c93",
	},
	{
		name: "counting",
		random: []byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" +
			"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f"),
		secret: "hm_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		hash:   "3d9c0a0937d2eab5a15918d0d03d3892cdf73cc8f00a4c2528735e03b4c7fe33",
	},
}

func TestNewVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			secret, hash, err := token.New(bytes.NewReader(v.random))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if secret != v.secret {
				t.Errorf("secret = %q, want %q", secret, v.secret)
			}
			if got := hex.EncodeToString(hash); got != v.hash {
				t.Errorf("hash = %s, want %s", got, v.hash)
			}
			again, err := token.Hash(secret)
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if !token.Equal(hash, again) {
				t.Errorf("Hash(secret) = %x, New gave %x", again, hash)
			}
		})
	}
}

func TestNewRandom(t *testing.T) {
	seen := make(map[string]bool)
	for range 64 {
		secret, hash, err := token.New(nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if len(secret) != token.SecretLen || !strings.HasPrefix(secret, token.Prefix) {
			t.Fatalf("secret %q has the wrong form", secret)
		}
		if seen[secret] {
			t.Fatalf("secret %q made twice", secret)
		}
		seen[secret] = true
		again, err := token.Hash(secret)
		if err != nil {
			t.Fatalf("Hash(%q): %v", secret, err)
		}
		if !token.Equal(hash, again) {
			t.Fatalf("Hash(%q) does not equal the hash from New", secret)
		}
	}
}

func TestNewReadErrors(t *testing.T) {
	errBroken := errors.New("entropy source broken")
	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"short", bytes.NewReader(make([]byte, 31)), io.ErrUnexpectedEOF},
		{"empty", bytes.NewReader(nil), io.EOF},
		{"failing", iotest.ErrReader(errBroken), errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret, hash, err := token.New(tt.r)
			if err == nil {
				t.Fatalf("New = %q, %x; want an error", secret, hash)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("New error = %v, want %v", err, tt.want)
			}
			if secret != "" || hash != nil {
				t.Errorf("New returned %q, %x with its error", secret, hash)
			}
		})
	}
}

func TestHashMalformed(t *testing.T) {
	valid := vectors[2].secret
	tests := []struct {
		name   string
		secret string
	}{
		{"empty", ""},
		{"prefix only", "hm_"},
		{"no prefix", valid[3:]},
		{"other prefix", "hx_" + valid[3:]},
		{"capital prefix", "HM_" + valid[3:]},
		{"one short", valid[:len(valid)-1]},
		{"one long", valid + "A"},
		{"padded", valid + "="},
		{"padding inside", valid[:len(valid)-1] + "="},
		{"standard base64 plus", valid[:10] + "+" + valid[11:]},
		{"standard base64 slash", valid[:10] + "/" + valid[11:]},
		{"space inside", valid[:10] + " " + valid[11:]},
		{"leading space", " " + valid[:len(valid)-1]},
		{"trailing space", valid[:len(valid)-1] + " "},
		{"trailing newline", valid[:len(valid)-1] + "\n"},
		{"carriage return inside", valid[:10] + "\r" + valid[11:]},
		{"tab", valid[:10] + "\t" + valid[11:]},
		{"nul", valid[:10] + "\x00" + valid[11:]},
		{"non-ASCII", valid[:10] + "é" + valid[12:]},
		{"stray bits in last character", "hm_" + strings.Repeat("_", 43)},
		{"stray bit", "hm_" + strings.Repeat("A", 42) + "B"},
		{"token ID", "tok_0123456789abcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash, err := token.Hash(tt.secret)
			if !errors.Is(err, token.ErrMalformed) {
				t.Fatalf("Hash(%q) = %x, %v; want ErrMalformed", tt.secret, hash, err)
			}
			if hash != nil {
				t.Errorf("Hash returned %x with its error", hash)
			}
			if len(tt.secret) > 8 && strings.Contains(err.Error(), tt.secret[3:]) {
				t.Errorf("error %q repeats the secret", err)
			}
		})
	}
}

func TestEqual(t *testing.T) {
	a, err := token.Hash(vectors[0].secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := token.Hash(vectors[1].secret)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(a)
	flipped[31] ^= 1
	tests := []struct {
		name string
		a, b []byte
		want bool
	}{
		{"same", a, bytes.Clone(a), true},
		{"different", a, b, false},
		{"last bit differs", a, flipped, false},
		{"prefix", a, a[:31], false},
		{"longer", a, append(bytes.Clone(a), 0), false},
		{"both nil", nil, nil, false},
		{"both empty", []byte{}, []byte{}, false},
		{"one nil", a, nil, false},
		{"equal but short", []byte{1, 2}, []byte{1, 2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := token.Equal(tt.a, tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
			if got := token.Equal(tt.b, tt.a); got != tt.want {
				t.Errorf("Equal swapped = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNewID(t *testing.T) {
	form := regexp.MustCompile(`^tok_[0-9a-f]{16}$`)
	id, err := token.NewID(bytes.NewReader([]byte{0, 1, 2, 3, 0xfc, 0xfd, 0xfe, 0xff}))
	if err != nil {
		t.Fatalf("NewID: %v", err)
	}
	if want := "tok_00010203fcfdfeff"; id != want {
		t.Errorf("NewID = %q, want %q", id, want)
	}

	seen := make(map[string]bool)
	for range 64 {
		id, err := token.NewID(nil)
		if err != nil {
			t.Fatalf("NewID: %v", err)
		}
		if !form.MatchString(id) || seen[id] {
			t.Fatalf("NewID = %q: wrong form or repeated", id)
		}
		seen[id] = true
	}

	if id, err := token.NewID(bytes.NewReader(make([]byte, 7))); err == nil {
		t.Errorf("NewID from 7 bytes = %q, want an error", id)
	}
}

func TestFromHeader(t *testing.T) {
	valid := vectors[2].secret
	tests := []struct {
		name   string
		header string
		want   string
		err    error
	}{
		{"bearer", "Bearer " + valid, valid, nil},
		{"lowercase scheme", "bearer " + valid, valid, nil},
		{"uppercase scheme", "BEARER " + valid, valid, nil},
		{"mixed case scheme", "bEaReR " + valid, valid, nil},
		{"empty", "", "", token.ErrMissing},
		{"scheme only", "Bearer", "", token.ErrMalformed},
		{"scheme and space", "Bearer ", "", token.ErrMalformed},
		{"two spaces", "Bearer  " + valid, "", token.ErrMalformed},
		{"tab", "Bearer\t" + valid, "", token.ErrMalformed},
		{"leading space", " Bearer " + valid, "", token.ErrMalformed},
		{"trailing space", "Bearer " + valid + " ", "", token.ErrMalformed},
		{"trailing newline", "Bearer " + valid + "\n", "", token.ErrMalformed},
		{"no scheme", valid, "", token.ErrMalformed},
		{"basic", "Basic dXNlcjpwYXNz", "", token.ErrMalformed},
		{"basic with a secret", "Basic " + valid, "", token.ErrMalformed},
		{"token scheme", "Token " + valid, "", token.ErrMalformed},
		{"bearer prefix", "Bearerx " + valid, "", token.ErrMalformed},
		{"padded secret", "Bearer " + valid + "=", "", token.ErrMalformed},
		{"short secret", "Bearer " + valid[:20], "", token.ErrMalformed},
		{"wrong prefix", "Bearer xx_" + valid[3:], "", token.ErrMalformed},
		{"two secrets", "Bearer " + valid + " " + valid, "", token.ErrMalformed},
		{"comma list", "Bearer " + valid + ", Basic x", "", token.ErrMalformed},
		{"only spaces", "   ", "", token.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := token.FromHeader(tt.header)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("FromHeader(%q) error = %v, want %v", tt.header, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("FromHeader(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range []store.Role{store.RoleOperator, store.RoleManufacturer,
		store.RoleTenantAdmin, store.RoleTenantReader} {
		t.Run(string(r), func(t *testing.T) {
			got, err := token.ParseRole(string(r))
			if err != nil {
				t.Fatalf("ParseRole(%q): %v", r, err)
			}
			if got != r {
				t.Errorf("ParseRole(%q) = %q", r, got)
			}
		})
	}

	bad := []struct{ name, in string }{
		{"empty", ""},
		{"capitals", "Operator"},
		{"space", "operator "},
		{"underscore", "tenant_admin"},
		{"part", "tenant"},
		{"admin", "admin"},
		{"reader", "reader"},
		{"long", strings.Repeat("x", 500)},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			got, err := token.ParseRole(tt.in)
			if !errors.Is(err, token.ErrUnknownRole) {
				t.Fatalf("ParseRole(%q) = %q, %v; want ErrUnknownRole", tt.in, got, err)
			}
			if got != "" {
				t.Errorf("ParseRole returned %q with its error", got)
			}
			if len(err.Error()) > 100 {
				t.Errorf("error repeats too much input: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestIsTenantRole(t *testing.T) {
	got := map[store.Role]bool{}
	for _, r := range []store.Role{store.RoleOperator, store.RoleManufacturer,
		store.RoleTenantAdmin, store.RoleTenantReader, "", "tenant"} {
		got[r] = token.IsTenantRole(r)
	}
	want := map[store.Role]bool{
		store.RoleOperator:     false,
		store.RoleManufacturer: false,
		store.RoleTenantAdmin:  true,
		store.RoleTenantReader: true,
		"":                     false,
		"tenant":               false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IsTenantRole (-want +got):\n%s", diff)
	}
}
