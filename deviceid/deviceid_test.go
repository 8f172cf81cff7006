package deviceid_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/deviceid"
)

// generatorID is the ID of the P-256 base point: the public key of the test
// private key 1. It is a fixed vector, not a key anyone should use.
const generatorID = "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296" +
	"4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"

// newTestKey returns a fresh P-256 test key and its ID as a string.
func newTestKey(t testing.TB) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := key.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return key, hex.EncodeToString(raw[1:])
}

func TestParse(t *testing.T) {
	_, fresh := newTestKey(t)
	tests := []struct {
		name string
		in   string
		want error // nil: valid
	}{
		{"generated key", fresh, nil},
		{"base point", generatorID, nil},
		{"empty", "", deviceid.ErrLength},
		{"127 characters", generatorID[:127], deviceid.ErrLength},
		{"129 characters", generatorID + "0", deviceid.ErrLength},
		{"256 characters", generatorID + generatorID, deviceid.ErrLength},
		{"uppercase hex", strings.ToUpper(generatorID), deviceid.ErrNotHex},
		{"one uppercase digit", "6B" + generatorID[2:], deviceid.ErrNotHex},
		{"non-hex letter", "g" + generatorID[1:], deviceid.ErrNotHex},
		{"space", " " + generatorID[1:], deviceid.ErrNotHex},
		{"0x prefix", "0x" + generatorID[2:], deviceid.ErrNotHex},
		{"multibyte rune", "é" + generatorID[2:], deviceid.ErrNotHex},
		{"all zero point", strings.Repeat("0", 128), deviceid.ErrNotPoint},
		{"off the curve", generatorID[:127] + "4", deviceid.ErrNotPoint},
		{"x and y are 1", strings.Repeat("0", 63) + "1" + strings.Repeat("0", 63) + "1",
			deviceid.ErrNotPoint},
		{"coordinates above the field prime", strings.Repeat("f", 128), deviceid.ErrNotPoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := deviceid.Parse(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if id.String() != tt.in {
					t.Errorf("String() = %q, want %q", id.String(), tt.in)
				}
				if id.IsZero() {
					t.Error("IsZero() = true for a parsed ID")
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v", err, tt.want)
			}
			if !id.IsZero() {
				t.Errorf("Parse returned %q with its error", id)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	sentinels := []error{deviceid.ErrLength, deviceid.ErrNotHex, deviceid.ErrNotPoint}
	tests := []struct {
		name      string
		in        string
		want      error
		wantInput string
	}{
		{"short input kept whole", "abc", deviceid.ErrLength, "abc"},
		{"long input cut", strings.Repeat("0", 128), deviceid.ErrNotPoint,
			strings.Repeat("0", 16) + "…"},
		{"non-hex cut", strings.Repeat("z", 128), deviceid.ErrNotHex,
			strings.Repeat("z", 16) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := deviceid.Parse(tt.in)
			var pe *deviceid.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Input != tt.wantInput {
				t.Errorf("Input = %q, want %q", pe.Input, tt.wantInput)
			}
			if errors.Unwrap(err) != tt.want {
				t.Errorf("Unwrap() = %v, want %v", errors.Unwrap(err), tt.want)
			}
			for _, s := range sentinels {
				if s != tt.want && errors.Is(err, s) {
					t.Errorf("error also matches %v", s)
				}
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want.Error()) {
				t.Errorf("Error() = %q, does not say %q", msg, tt.want)
			}
		})
	}
}

func TestFromPublicKey(t *testing.T) {
	key, want := newTestKey(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pub     *ecdsa.PublicKey
		want    string
		wantErr bool
	}{
		{"P-256", &key.PublicKey, want, false},
		{"P-384", &p384.PublicKey, "", true},
		{"nil key", nil, "", true},
		{"nil curve", &ecdsa.PublicKey{X: key.X, Y: key.Y}, "", true},
		{"no coordinates", &ecdsa.PublicKey{Curve: elliptic.P256()}, "", true},
		{"off the curve", &ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1),
			Y: big.NewInt(1)}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := deviceid.FromPublicKey(tt.pub)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("FromPublicKey = %q, want an error", id)
				}
				if !id.IsZero() {
					t.Errorf("FromPublicKey returned %q with its error", id)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromPublicKey: %v", err)
			}
			if id.String() != tt.want {
				t.Errorf("FromPublicKey = %q, want %q", id, tt.want)
			}
		})
	}
}

func TestPublicKeyRoundTrip(t *testing.T) {
	for i := range 8 {
		key, s := newTestKey(t)
		id, err := deviceid.Parse(s)
		if err != nil {
			t.Fatalf("key %d: Parse: %v", i, err)
		}
		pub, err := id.PublicKey()
		if err != nil {
			t.Fatalf("key %d: PublicKey: %v", i, err)
		}
		if !pub.Equal(&key.PublicKey) {
			t.Fatalf("key %d: PublicKey does not equal the generated key", i)
		}
		back, err := deviceid.FromPublicKey(pub)
		if err != nil {
			t.Fatalf("key %d: FromPublicKey: %v", i, err)
		}
		if back != id {
			t.Fatalf("key %d: FromPublicKey = %q, want %q", i, back, id)
		}
	}
}

func TestPublicKeyVerifies(t *testing.T) {
	key, s := newTestKey(t)
	id, err := deviceid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	digest := make([]byte, 32)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := id.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(pub, digest, sig) {
		t.Error("signature by the test key does not verify with the key from its ID")
	}
}

func TestZeroID(t *testing.T) {
	var id deviceid.ID
	if !id.IsZero() {
		t.Error("IsZero() = false for the zero ID")
	}
	if s := id.String(); s != "" {
		t.Errorf("String() = %q, want empty", s)
	}
	if _, err := id.PublicKey(); err == nil {
		t.Error("PublicKey() of the zero ID succeeded")
	}
	if _, err := id.MarshalText(); err == nil {
		t.Error("MarshalText() of the zero ID succeeded")
	}
	if _, err := json.Marshal(struct{ ID deviceid.ID }{}); err == nil {
		t.Error("json.Marshal of a zero ID succeeded")
	}
}

func TestText(t *testing.T) {
	id, err := deviceid.Parse(generatorID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := id.MarshalText()
	if err != nil {
		t.Fatalf("MarshalText: %v", err)
	}
	if string(b) != generatorID {
		t.Errorf("MarshalText = %q, want %q", b, generatorID)
	}

	var got deviceid.ID
	if err := got.UnmarshalText(b); err != nil {
		t.Fatalf("UnmarshalText: %v", err)
	}
	if got != id {
		t.Errorf("UnmarshalText = %q, want %q", got, id)
	}
}

func TestUnmarshalTextRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", deviceid.ErrLength},
		{"uppercase", strings.ToUpper(generatorID), deviceid.ErrNotHex},
		{"not a point", strings.Repeat("0", 128), deviceid.ErrNotPoint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := deviceid.Parse(generatorID)
			if err != nil {
				t.Fatal(err)
			}
			before := id
			if err := id.UnmarshalText([]byte(tt.in)); !errors.Is(err, tt.want) {
				t.Fatalf("UnmarshalText error = %v, want %v", err, tt.want)
			}
			if id != before {
				t.Errorf("failed UnmarshalText changed the ID to %q", id)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	type record struct {
		Device deviceid.ID `json:"device"`
	}
	id, err := deviceid.Parse(generatorID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(record{Device: id})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if want := `{"device":"` + generatorID + `"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var got record
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if got.Device != id {
		t.Errorf("round trip = %q, want %q", got.Device, id)
	}

	bad := []struct {
		name string
		in   string
		want error
	}{
		{"short", `{"device":"abc"}`, deviceid.ErrLength},
		{"uppercase", `{"device":"` + strings.ToUpper(generatorID) + `"}`, deviceid.ErrNotHex},
		{"zero point", `{"device":"` + strings.Repeat("0", 128) + `"}`, deviceid.ErrNotPoint},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			var r record
			if err := json.Unmarshal([]byte(tt.in), &r); !errors.Is(err, tt.want) {
				t.Errorf("Unmarshal error = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("number", func(t *testing.T) {
		var r record
		if err := json.Unmarshal([]byte(`{"device":12}`), &r); err == nil {
			t.Error("Unmarshal of a number succeeded")
		}
	})
}

func FuzzParse(f *testing.F) {
	_, fresh := newTestKey(f)
	f.Add(fresh)
	f.Add(generatorID)
	f.Add("")
	f.Add(strings.Repeat("0", 128))
	f.Add(strings.ToUpper(generatorID))
	f.Add(generatorID[:127] + "é")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := deviceid.Parse(s)
		if err != nil {
			var pe *deviceid.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if !id.IsZero() {
				t.Fatalf("Parse returned %q with an error", id)
			}
			return
		}
		if id.String() != s {
			t.Fatalf("String() = %q, want %q", id, s)
		}
		pub, err := id.PublicKey()
		if err != nil {
			t.Fatalf("PublicKey of a parsed ID: %v", err)
		}
		back, err := deviceid.FromPublicKey(pub)
		if err != nil {
			t.Fatalf("FromPublicKey: %v", err)
		}
		if back != id {
			t.Fatalf("FromPublicKey = %q, want %q", back, id)
		}
	})
}
