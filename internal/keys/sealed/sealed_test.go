package sealed

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/internal/keys"
)

// testKEK returns a fixed test key-encryption key; never use it for real keys.
func testKEK(n byte) []byte { return bytes.Repeat([]byte{n}, KEKSize) }

func newTestBackend(t testing.TB, n byte) *Backend {
	t.Helper()
	b, err := New(testKEK(n))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// generate makes a key for keyID on P-256 and returns its reference.
func generate(t testing.TB, b *Backend, keyID string) []byte {
	t.Helper()
	ref, _, err := b.Generate(context.Background(), keyID, elliptic.P256())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return ref
}

func signAndVerify(t *testing.T, s crypto.Signer) {
	t.Helper()
	digest := sha256.Sum256([]byte("test message"))
	sig, err := s.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("Public() is %T, want *ecdsa.PublicKey", s.Public())
	}
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		t.Fatal("signature does not verify")
	}
}

func TestNewKEKLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			if _, err := New(make([]byte, n)); err == nil {
				t.Fatalf("New accepted a %d-byte KEK", n)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		curve elliptic.Curve
	}{
		{"P-256", elliptic.P256()},
		{"P-384", elliptic.P384()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			b := newTestBackend(t, 1)
			ref, s, err := b.Generate(ctx, "ca-1", tt.curve)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			signAndVerify(t, s)
			if got := s.Public().(*ecdsa.PublicKey).Curve; got != tt.curve {
				t.Fatalf("curve %s, want %s", got.Params().Name, tt.name)
			}

			// A second backend with the same KEK stands for a restart.
			opened, err := newTestBackend(t, 1).Signer(ctx, "ca-1", ref)
			if err != nil {
				t.Fatalf("Signer: %v", err)
			}
			signAndVerify(t, opened)
			if !opened.Public().(*ecdsa.PublicKey).Equal(s.Public()) {
				t.Fatal("reopened key has another public key")
			}
		})
	}
}

func TestGenerateRefusesBadInput(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		keyID string
		curve elliptic.Curve
	}{
		{"empty key ID", context.Background(), "", elliptic.P256()},
		{"nil curve", context.Background(), "ca-1", nil},
		{"P-224", context.Background(), "ca-1", elliptic.P224()},
		{"canceled context", canceled, "ca-1", elliptic.P256()},
	}
	b := newTestBackend(t, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, s, err := b.Generate(tt.ctx, tt.keyID, tt.curve)
			if err == nil {
				t.Fatalf("Generate succeeded: ref %x, signer %v", ref, s)
			}
		})
	}
}

func TestSignerRefusesRef(t *testing.T) {
	b := newTestBackend(t, 1)
	ref := generate(t, b, "ca-1")
	nonceAt, ciphertextAt, tagAt := 1, 1+nonceSize, len(ref)-tagSize

	flip := func(i int) []byte {
		r := bytes.Clone(ref)
		r[i] ^= 0x01
		return r
	}
	tests := []struct {
		name    string
		backend *Backend
		keyID   string
		ref     []byte
	}{
		{"wrong KEK", newTestBackend(t, 2), "ca-1", ref},
		{"other key ID", b, "ca-2", ref},
		{"key ID prefix", b, "ca-", ref},
		{"empty key ID", b, "", ref},
		{"flipped version", b, "ca-1", flip(0)},
		{"flipped nonce", b, "ca-1", flip(nonceAt)},
		{"flipped ciphertext", b, "ca-1", flip(ciphertextAt)},
		{"flipped tag", b, "ca-1", flip(tagAt)},
		{"flipped last byte", b, "ca-1", flip(len(ref) - 1)},
		{"nil ref", b, "ca-1", nil},
		{"empty ref", b, "ca-1", []byte{}},
		{"version only", b, "ca-1", ref[:1]},
		{"no ciphertext or tag", b, "ca-1", ref[:ciphertextAt]},
		{"truncated tag", b, "ca-1", ref[:len(ref)-1]},
		{"no tag", b, "ca-1", ref[:tagAt]},
		{"extra byte", b, "ca-1", append(bytes.Clone(ref), 0)},
		{"other backend's ref", b, "ca-1", []byte("ca-1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.backend.Signer(context.Background(), tt.keyID, tt.ref)
			if !errors.Is(err, keys.ErrUnusable) {
				t.Fatalf("Signer = %v, %v; want error wrapping ErrUnusable", s, err)
			}
		})
	}
}

func TestSignerCanceledContext(t *testing.T) {
	b := newTestBackend(t, 1)
	ref := generate(t, b, "ca-1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Signer(ctx, "ca-1", ref); !errors.Is(err, context.Canceled) {
		t.Fatalf("Signer = %v, want context.Canceled", err)
	}
}

// TestSealedUnderOtherFormat checks content that opens but is not an ECDSA
// PKCS#8 key: only a KEK holder could make it, but it must still fail cleanly.
func TestSealedUnderOtherFormat(t *testing.T) {
	b := newTestBackend(t, 1)
	tests := []struct {
		name      string
		plaintext []byte
	}{
		{"not DER", []byte("not a key")},
		{"empty", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := make([]byte, 1+nonceSize)
			ref[0] = formatV1
			ref = b.aead.Seal(ref, ref[1:], tt.plaintext, additionalData(formatV1, "ca-1"))
			if _, err := b.Signer(context.Background(), "ca-1", ref); !errors.Is(err,
				keys.ErrUnusable) {
				t.Fatalf("Signer = %v, want error wrapping ErrUnusable", err)
			}
		})
	}
}

func TestSignerHidesPrivateKey(t *testing.T) {
	b := newTestBackend(t, 1)
	_, s, err := b.Generate(context.Background(), "ca-1", elliptic.P256())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	scalar, err := s.(*signer).priv.Bytes()
	if err != nil {
		t.Fatalf("private key bytes: %v", err)
	}
	secrets := []string{
		hex.EncodeToString(scalar),
		strings.ToUpper(hex.EncodeToString(scalar)),
		fmt.Sprint(scalar),
		string(scalar),
	}

	type holder struct{ s crypto.Signer }
	outputs := []string{
		fmt.Sprintf("%v %+v %#v", s, s, s),
		fmt.Sprintf("%s %q %x %X %d", s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", holder{s}, holder{s}, holder{s}),
		fmt.Sprintf("%v %+v %#v", []crypto.Signer{s}, []crypto.Signer{s}, []crypto.Signer{s}),
	}
	for _, out := range outputs {
		for _, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Fatalf("fmt output %q contains the private scalar", out)
			}
		}
	}
	if got, want := fmt.Sprint(s), "sealed.signer(P-256)"; got != want {
		t.Errorf("fmt.Sprint(signer) = %q, want %q", got, want)
	}

	if _, ok := s.(interface{ Bytes() ([]byte, error) }); ok {
		t.Error("signer exposes Bytes")
	}
	if _, ok := s.(interface{ ECDH() (any, error) }); ok {
		t.Error("signer exposes ECDH")
	}
	if _, ok := s.(*ecdsa.PrivateKey); ok {
		t.Error("signer is an *ecdsa.PrivateKey")
	}
}

func TestCheckValue(t *testing.T) {
	b1 := newTestBackend(t, 1)
	cv := b1.CheckValue()
	if len(cv) != 32 {
		t.Fatalf("check value %q has %d characters, want 32", cv, len(cv))
	}
	if _, err := hex.DecodeString(cv); err != nil {
		t.Fatalf("check value %q is not hex: %v", cv, err)
	}
	if strings.Contains(cv, hex.EncodeToString(testKEK(1)[:8])) {
		t.Fatal("check value contains the KEK")
	}
	if got := newTestBackend(t, 1).CheckValue(); got != cv {
		t.Fatalf("same KEK gives check values %q and %q", cv, got)
	}

	tests := []struct {
		name     string
		backend  *Backend
		recorded string
		wantErr  bool
	}{
		{"same KEK", newTestBackend(t, 1), cv, false},
		{"other KEK", newTestBackend(t, 2), cv, true},
		{"empty record", b1, "", true},
		{"upper case record", b1, strings.ToUpper(cv), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.backend.MatchCheckValue(tt.recorded)
			if tt.wantErr != errors.Is(err, ErrWrongKEK) {
				t.Fatalf("MatchCheckValue = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

func TestBackendBasics(t *testing.T) {
	b := newTestBackend(t, 1)
	if b.Name() != "sealed" {
		t.Errorf("Name = %q, want sealed", b.Name())
	}
	if err := b.Check(context.Background()); err != nil {
		t.Errorf("Check = %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	b := newTestBackend(t, 1)
	ref := generate(t, b, "ca-1")
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			s, err := b.Signer(context.Background(), "ca-1", ref)
			if err == nil {
				digest := sha256.Sum256([]byte("m"))
				_, err = s.Sign(nil, digest[:], crypto.SHA256)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func FuzzSigner(f *testing.F) {
	b := newTestBackend(f, 1)
	ref := generate(f, b, "ca-1")
	f.Add("ca-1", ref)
	f.Add("ca-2", ref)
	f.Add("ca-1", ref[:len(ref)-1])
	f.Add("ca-1", []byte{})
	f.Add("ca-1", []byte{formatV1})
	f.Add("ca-1", make([]byte, 1+nonceSize+tagSize))
	f.Add("", []byte{0xff, 0x00})

	f.Fuzz(func(t *testing.T, keyID string, ref []byte) {
		s, err := b.Signer(context.Background(), keyID, ref)
		if err != nil {
			if !errors.Is(err, keys.ErrUnusable) {
				t.Fatalf("error %v does not wrap ErrUnusable", err)
			}
			return
		}
		if _, ok := s.Public().(*ecdsa.PublicKey); !ok {
			t.Fatalf("opened signer has public key %T", s.Public())
		}
	})
}
