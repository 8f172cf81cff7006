package hsm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/hallmark-project/hallmark/internal/keys"
)

// The tests run against SoftHSM2 with tokens made in a temporary directory.
// The PINs are test values.
const (
	testModule   = "/usr/lib/softhsm/libsofthsm2.so"
	testToken    = "hallmark-test"
	testPINToken = "hallmark-pin" // only the PIN tests log in to it
	testPIN      = "test-user-pin"
	testSOPIN    = "test-so-pin"
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	const hint = "the hsm tests need SoftHSM2; install it with: apt-get install softhsm2"
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: softhsm2-util not found: %v\n%s\n", err, hint)
		return 1
	}
	if _, err := os.Stat(testModule); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: PKCS#11 module: %v\n%s\n", err, hint)
		return 1
	}

	dir, err := os.MkdirTemp("", "hallmark-softhsm-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := setUpSoftHSM(dir); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: set up SoftHSM2: %v\n", err)
		return 1
	}
	return m.Run()
}

// setUpSoftHSM points SoftHSM2 at a token directory under dir and
// initialises the test tokens there. SoftHSM2 reads SOFTHSM2_CONF when the
// module is initialised, so this must happen before any test opens it.
func setUpSoftHSM(dir string) error {
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := "directories.tokendir = " + tokens + "\nobjectstore.backend = file\nlog.level = ERROR\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return err
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return err
	}

	for _, label := range []string{testToken, testPINToken} {
		cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label,
			"--so-pin", testSOPIN, "--pin", testPIN)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("init token %s: %v\n%s", label, err, out)
		}
	}
	return nil
}

// keyCount makes key IDs unique within the process, so the tests also pass
// with -count above 1 on the same token.
var keyCount atomic.Int64

func uniqueKeyID(base string) string {
	return fmt.Sprintf("%s-%d", base, keyCount.Add(1))
}

func openTest(t *testing.T) *Backend {
	t.Helper()
	b, err := Open(Config{Module: testModule, TokenLabel: testToken, PIN: testPIN})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func generate(t *testing.T, b *Backend, keyID string, curve elliptic.Curve) (
	[]byte, crypto.Signer) {
	t.Helper()
	ref, s, err := b.Generate(context.Background(), keyID, curve)
	if err != nil {
		t.Fatalf("Generate(%q): %v", keyID, err)
	}
	return ref, s
}

// signAndVerify signs with the hash that suits the key's curve and verifies
// the signature with crypto/ecdsa.
func signAndVerify(t *testing.T, s crypto.Signer) {
	t.Helper()
	pub, ok := s.Public().(*ecdsa.PublicKey)
	if !ok {
		t.Fatalf("Public() is %T, want *ecdsa.PublicKey", s.Public())
	}
	msg := []byte("test message")
	d256, d384 := sha256.Sum256(msg), sha512.Sum384(msg)
	digest, hash := d256[:], crypto.SHA256
	if pub.Curve == elliptic.P384() {
		digest, hash = d384[:], crypto.SHA384
	}

	sig, err := s.Sign(nil, digest, hash)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !ecdsa.VerifyASN1(pub, digest, sig) {
		t.Fatal("signature does not verify")
	}
}

func TestGenerateSignVerify(t *testing.T) {
	tests := []struct {
		name  string
		keyID string
		curve elliptic.Curve
	}{
		{"P-256", "sign-p256", elliptic.P256()},
		{"P-384", "sign-p384", elliptic.P384()},
	}
	b := openTest(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyID := uniqueKeyID(tt.keyID)
			ref, s := generate(t, b, keyID, tt.curve)
			if !bytes.Equal(ref, []byte(keyID)) {
				t.Fatalf("ref = %q, want the key ID %q", ref, keyID)
			}
			if got := s.Public().(*ecdsa.PublicKey).Curve; got != tt.curve {
				t.Fatalf("curve %s, want %s", got.Params().Name, tt.name)
			}
			signAndVerify(t, s)
		})
	}
}

func TestReopenFindsKey(t *testing.T) {
	ctx := context.Background()
	first, err := Open(Config{Module: testModule, TokenLabel: testToken, PIN: testPIN})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	keyID := uniqueKeyID("reopen")
	ref, s, err := first.Generate(ctx, keyID, elliptic.P384())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	pub := s.Public().(*ecdsa.PublicKey)
	// Closing the only backend unloads the module, so the next Open starts
	// from scratch as a restarted process would.
	if err := first.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	again, err := openTest(t).Signer(ctx, keyID, ref)
	if err != nil {
		t.Fatalf("Signer after reopen: %v", err)
	}
	if !pub.Equal(again.Public()) {
		t.Fatal("key found after reopen has another public key")
	}
	signAndVerify(t, again)
}

func TestSignerRefuses(t *testing.T) {
	b := openTest(t)
	present, absent := uniqueKeyID("present"), uniqueKeyID("absent")
	generate(t, b, present, elliptic.P256())
	tests := []struct {
		name  string
		keyID string
		ref   []byte
	}{
		{"unknown key", absent, []byte(absent)},
		{"ref of another key", absent, []byte(present)},
		{"ref swapped onto another key ID", present, []byte(absent)},
		{"empty ref", present, nil},
		{"empty key ID", "", []byte(present)},
		{"sealed-style ref", present, append([]byte{1}, make([]byte, 40)...)},
		{"prefix of key ID", present, []byte(present[:4])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := b.Signer(context.Background(), tt.keyID, tt.ref)
			if !errors.Is(err, keys.ErrUnusable) {
				t.Fatalf("Signer = %v, %v; want error wrapping ErrUnusable", s, err)
			}
		})
	}
}

func TestSignerRefusesUnprotectedKey(t *testing.T) {
	b := openTest(t)
	keyID := uniqueKeyID("extractable")
	id := []byte(keyID)
	pub, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(labelPrefix+keyID))
	if err != nil {
		t.Fatal(err)
	}
	priv := pub.Copy()
	for attr, v := range map[crypto11.AttributeType]bool{
		crypto11.CkaSensitive: false, crypto11.CkaExtractable: true} {
		if err := priv.Set(attr, v); err != nil {
			t.Fatal(err)
		}
	}
	k, err := b.ctx.GenerateECDSAKeyPairWithAttributes(pub, priv, elliptic.P256())
	if err != nil {
		t.Fatalf("make extractable key: %v", err)
	}
	t.Cleanup(func() { k.Delete() })

	s, err := b.Signer(context.Background(), keyID, id)
	if !errors.Is(err, keys.ErrUnusable) {
		t.Fatalf("Signer = %v, %v; want error wrapping ErrUnusable", s, err)
	}
	if !strings.Contains(err.Error(), "CKA_") {
		t.Errorf("error %q does not name the attribute", err)
	}
}

func TestSignerRefusesAmbiguousID(t *testing.T) {
	b := openTest(t)
	keyID := uniqueKeyID("twice")
	generate(t, b, keyID, elliptic.P256())
	// A second pair with the same ID and label, made behind the backend's back.
	k, err := b.ctx.GenerateECDSAKeyPairWithLabel([]byte(keyID), []byte(labelPrefix+keyID),
		elliptic.P256())
	if err != nil {
		t.Fatalf("make second key: %v", err)
	}
	t.Cleanup(func() { k.Delete() })

	if s, err := b.Signer(context.Background(), keyID, []byte(keyID)); !errors.Is(err,
		keys.ErrUnusable) {
		t.Fatalf("Signer = %v, %v; want error wrapping ErrUnusable", s, err)
	}
}

func TestGenerateRefuses(t *testing.T) {
	b := openTest(t)
	taken := uniqueKeyID("taken")
	generate(t, b, taken, elliptic.P256())
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		keyID  string
		curve  elliptic.Curve
		wantIn string
	}{
		{"existing key ID", context.Background(), taken, elliptic.P256(), "already holds"},
		{"empty key ID", context.Background(), "", elliptic.P256(), "empty key ID"},
		{"nil curve", context.Background(), "nil-curve", nil, "unsupported curve"},
		{"P-224", context.Background(), "p224", elliptic.P224(), "unsupported curve"},
		{"canceled context", canceled, "canceled", elliptic.P256(), "canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, s, err := b.Generate(tt.ctx, tt.keyID, tt.curve)
			if err == nil {
				t.Fatalf("Generate = %q, %v; want error", ref, s)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("Generate error %q does not mention %q", err, tt.wantIn)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	notModule := filepath.Join(t.TempDir(), "not-a-module.so")
	if err := os.WriteFile(notModule, []byte("not a shared library"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     Config
		wantErr error  // sentinel, or nil
		wantIn  string // part of the message
	}{
		{"no module", Config{TokenLabel: testToken, PIN: testPIN}, nil, "no module"},
		{"no token label", Config{Module: testModule, PIN: testPIN}, nil, "no token label"},
		{"no PIN", Config{Module: testModule, TokenLabel: testToken}, nil, "no user PIN"},
		{"missing module", Config{Module: filepath.Join(t.TempDir(), "missing.so"),
			TokenLabel: testToken, PIN: testPIN}, nil, "no such file"},
		{"module not a library", Config{Module: notModule, TokenLabel: testToken,
			PIN: testPIN}, nil, "not-a-module.so"},
		{"unknown token", Config{Module: testModule, TokenLabel: "no-such-token",
			PIN: testPIN}, ErrTokenNotFound, `"no-such-token"`},
		{"wrong PIN", Config{Module: testModule, TokenLabel: testPINToken,
			PIN: "wrong-pin"}, ErrWrongPIN, testPINToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Open(tt.cfg)
			if err == nil {
				b.Close()
				t.Fatal("Open succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Open error %q does not wrap %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("Open error %q does not mention %q", err, tt.wantIn)
			}
			if msg := err.Error(); strings.Contains(msg, testPIN) ||
				strings.Contains(msg, "wrong-pin") {
				t.Errorf("Open error %q quotes the PIN", err)
			}
		})
	}

	// The right PIN still opens the token after a refused one.
	b, err := Open(Config{Module: testModule, TokenLabel: testPINToken, PIN: testPIN})
	if err != nil {
		t.Fatalf("Open with the right PIN: %v", err)
	}
	b.Close()
}

func TestKeyIsNotExtractable(t *testing.T) {
	b := openTest(t)
	keyID := uniqueKeyID("sensitive")
	ref, generated := generate(t, b, keyID, elliptic.P256())
	found, err := b.Signer(context.Background(), keyID, ref)
	if err != nil {
		t.Fatalf("Signer: %v", err)
	}

	for name, s := range map[string]crypto.Signer{"generated": generated, "found": found} {
		t.Run(name, func(t *testing.T) {
			k := s.(*signer).key
			want := map[crypto11.AttributeType]byte{
				crypto11.CkaToken:            1,
				crypto11.CkaPrivate:          1,
				crypto11.CkaSensitive:        1,
				crypto11.CkaAlwaysSensitive:  1,
				crypto11.CkaExtractable:      0,
				crypto11.CkaNeverExtractable: 1,
			}
			for attr, v := range want {
				a, err := b.ctx.GetAttribute(k, attr)
				if err != nil {
					t.Fatalf("read attribute 0x%x: %v", attr, err)
				}
				if a == nil || !bytes.Equal(a.Value, []byte{v}) {
					t.Errorf("attribute 0x%x = %v, want [%d]", attr, a, v)
				}
			}

			value, err := b.ctx.GetAttribute(k, crypto11.CkaValue)
			var p11 pkcs11.Error
			if !errors.As(err, &p11) || p11 != pkcs11.CKR_ATTRIBUTE_SENSITIVE {
				t.Fatalf("reading CKA_VALUE = %v, %v; want CKR_ATTRIBUTE_SENSITIVE", value, err)
			}
		})
	}
}

func TestSignerExposesOnlySigning(t *testing.T) {
	b := openTest(t)
	keyID := uniqueKeyID("narrow")
	_, s := generate(t, b, keyID, elliptic.P256())
	if _, ok := s.(crypto11.Signer); ok {
		t.Error("signer can be asserted to crypto11.Signer")
	}
	if _, ok := s.(interface{ Delete() error }); ok {
		t.Error("signer exposes Delete")
	}
	if _, ok := s.(crypto.Decrypter); ok {
		t.Error("signer is a crypto.Decrypter")
	}
	want := fmt.Sprintf("pkcs11.signer(%q)", keyID)
	for _, got := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)} {
		if got != want {
			t.Errorf("fmt output %q, want %q", got, want)
		}
	}
}

func TestCheckAndClose(t *testing.T) {
	b, err := Open(Config{Module: testModule, TokenLabel: testToken, PIN: testPIN})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if b.Name() != "pkcs11" {
		t.Errorf("Name = %q, want pkcs11", b.Name())
	}
	if err := b.Check(context.Background()); err != nil {
		t.Fatalf("Check on open backend: %v", err)
	}
	keyID := uniqueKeyID("closing")
	ref, s := generate(t, b, keyID, elliptic.P256())

	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.Check(context.Background()); err == nil {
		t.Error("Check after Close succeeded")
	}
	if _, _, err := b.Generate(context.Background(), "after-close", elliptic.P256()); err == nil {
		t.Error("Generate after Close succeeded")
	}
	if _, err := b.Signer(context.Background(), keyID, ref); err == nil {
		t.Error("Signer after Close succeeded")
	}
	digest := sha256.Sum256([]byte("m"))
	if _, err := s.Sign(nil, digest[:], crypto.SHA256); err == nil {
		t.Error("Sign after Close succeeded")
	}
}

func TestCheckCanceledContext(t *testing.T) {
	b := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Check(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Check = %v, want context.Canceled", err)
	}
	if _, err := b.Signer(ctx, "any", []byte("any")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Signer = %v, want context.Canceled", err)
	}
}

func TestConcurrentSigning(t *testing.T) {
	b := openTest(t)
	keyID := uniqueKeyID("concurrent")
	ref, _ := generate(t, b, keyID, elliptic.P256())
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			s, err := b.Signer(context.Background(), keyID, ref)
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
