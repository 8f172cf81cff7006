package evidence_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// The wire values, written out here rather than taken from the package so
// that a change to them fails the tests.
const (
	keyIssuedAt   = 6
	keyNonce      = 10
	keyUEID       = 256
	keyComponents = -70001
	keyKeyBinding = -70002
	tagSign1      = 18
	algES256      = -7
)

var testEnc = func() cbor.EncMode {
	m, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// newTestKey returns a fresh P-256 identity key for a test.
func newTestKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// rawID returns the 64-byte X‖Y of a public key: the kid.
func rawID(t testing.TB, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	b, err := pub.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b[1:]
}

func ueidOf(kid []byte) []byte {
	sum := sha256.Sum256(kid)
	return append([]byte{0x01}, sum[:]...)
}

// sampleClaims returns valid claims with a fixed nonce.
func sampleClaims() evidence.Claims {
	nonce := make([]byte, 32)
	for i := range nonce {
		nonce[i] = byte(i)
	}
	return evidence.Claims{
		Nonce:    nonce,
		IssuedAt: time.Unix(1767225600, 0).UTC(),
		Components: []evidence.Component{
			{Name: "bootloader", Version: "1.4.2", Digest: sha256.Sum256([]byte("bl")), SVN: 3},
			{Name: "kernel", Version: "6.12.9", Digest: sha256.Sum256([]byte("kernel")), SVN: 12},
			{Name: "rootfs", Version: "2026.01", Digest: sha256.Sum256([]byte("rootfs"))},
		},
		KeyBinding: sha256.Sum256([]byte("test CSR public key")),
	}
}

// wireClaims returns the claims map that Sign encodes for c, for cases to
// edit before encoding.
func wireClaims(kid []byte, c evidence.Claims) map[any]any {
	comps := make([]any, len(c.Components))
	for i, comp := range c.Components {
		comps[i] = map[any]any{1: comp.Name, 2: comp.Version, 3: comp.Digest[:], 4: comp.SVN}
	}
	return map[any]any{
		keyNonce:      c.Nonce,
		keyIssuedAt:   c.IssuedAt.Unix(),
		keyUEID:       ueidOf(kid),
		keyComponents: comps,
		keyKeyBinding: c.KeyBinding[:],
	}
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := testEnc.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withDuplicate encodes m, a map of fewer than 23 entries, with one more
// entry whose key repeats.
func withDuplicate(t testing.TB, m map[any]any, key, value any) []byte {
	t.Helper()
	return withRawEntry(t, m, key, encode(t, value))
}

// withRawEntry encodes m, a map of fewer than 23 entries, with one more entry
// whose value is raw, for values the encoder refuses to write.
func withRawEntry(t testing.TB, m map[any]any, key any, raw []byte) []byte {
	t.Helper()
	b := encode(t, m)
	if b[0] < 0xa0 || b[0] >= 0xb7 {
		t.Fatalf("map header %#x is not a short map", b[0])
	}
	b[0]++
	b = append(b, encode(t, key)...)
	return append(b, raw...)
}

// message is a COSE_Sign1 built by hand, so that cases can break any part.
type message struct {
	protected   map[any]any // encoded as an empty bstr when empty
	unprotected map[any]any
	payload     []byte // nil for a detached payload
	signer      *ecdsa.PrivateKey
}

// newMessage returns a valid message for key carrying the sample claims.
func newMessage(t testing.TB, key *ecdsa.PrivateKey) (*message, map[any]any) {
	t.Helper()
	kid := rawID(t, &key.PublicKey)
	claims := wireClaims(kid, sampleClaims())
	m := &message{
		protected:   map[any]any{1: algES256, 4: kid},
		unprotected: map[any]any{},
		payload:     encode(t, claims),
		signer:      key,
	}
	return m, claims
}

// bytes signs the message as RFC 9052 section 4.4 says and encodes it tagged.
func (m *message) bytes(t testing.TB) []byte {
	t.Helper()
	protected := []byte{}
	if len(m.protected) > 0 {
		protected = encode(t, m.protected)
	}
	return encode(t, cbor.Tag{Number: tagSign1, Content: []any{
		protected, m.unprotected, m.payload, m.sign(t, protected),
	}})
}

func (m *message) sign(t testing.TB, protected []byte) []byte {
	t.Helper()
	payload := m.payload
	if payload == nil {
		payload = []byte{}
	}
	tbs := encode(t, []any{"Signature1", protected, []byte{}, payload})
	digest := sha256.Sum256(tbs)
	r, s, err := ecdsa.Sign(rand.Reader, m.signer, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

// notOnCurve is 64 bytes that are not the X‖Y of a P-256 point.
func notOnCurve() []byte {
	b := make([]byte, 64)
	b[31], b[63] = 1, 1
	return b
}
