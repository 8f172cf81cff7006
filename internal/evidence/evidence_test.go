package evidence_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

func TestRoundTrip(t *testing.T) {
	key := newTestKey(t)
	want := sampleClaims()
	b, err := evidence.Sign(key, want)
	if err != nil {
		t.Fatal(err)
	}

	ev, err := evidence.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Verify(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, ev.Claims()); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	id, err := deviceid.FromPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if ev.DeviceID() != id {
		t.Errorf("device ID = %v, want %v", ev.DeviceID(), id)
	}
	if ev.Digest() != sha256.Sum256(b) {
		t.Error("digest is not the SHA-256 of the evidence")
	}
}

func TestRoundTripLimits(t *testing.T) {
	c := sampleClaims()
	c.Components = nil
	for i := range evidence.MaxComponents {
		name := []byte(longName(evidence.MaxTextLen))
		name[0] = byte('A' + i%26)
		name[1] = byte('A' + i/26)
		c.Components = append(c.Components, evidence.Component{
			Name:    string(name),
			Version: longName(evidence.MaxTextLen),
			SVN:     ^uint64(0),
		})
	}
	c.IssuedAt = time.Unix(1767225600, 999999999)

	b, err := evidence.Sign(newTestKey(t), c)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > evidence.MaxSize {
		t.Fatalf("largest evidence is %d bytes, more than MaxSize", len(b))
	}
	ev, err := evidence.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	c.IssuedAt = time.Unix(1767225600, 0).UTC() // sent as whole seconds
	if diff := cmp.Diff(c, ev.Claims()); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

// longName returns n bytes of valid text made of two-byte runes and one 'x'
// if n is odd.
func longName(n int) string {
	s := ""
	for len(s)+2 <= n {
		s += "é"
	}
	if len(s) < n {
		s += "x"
	}
	return s
}

// TestWireFormat decodes Sign's output without the package or go-cose and
// checks the signature from first principles.
func TestWireFormat(t *testing.T) {
	key := newTestKey(t)
	b, err := evidence.Sign(key, sampleClaims())
	if err != nil {
		t.Fatal(err)
	}

	var tag cbor.RawTag
	if err := cbor.Unmarshal(b, &tag); err != nil {
		t.Fatal(err)
	}
	if tag.Number != tagSign1 {
		t.Fatalf("tag = %d, want %d", tag.Number, tagSign1)
	}
	var parts []cbor.RawMessage
	if err := cbor.Unmarshal(tag.Content, &parts); err != nil || len(parts) != 4 {
		t.Fatalf("content is not a 4-array: %v", err)
	}
	var protected, payload, sig []byte
	var unprotected map[int64]any
	for i, dst := range []any{&protected, &unprotected, &payload, &sig} {
		if err := cbor.Unmarshal(parts[i], dst); err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
	}

	kid := rawID(t, &key.PublicKey)
	if diff := cmp.Diff(encode(t, map[any]any{1: algES256, 4: kid}), protected); diff != "" {
		t.Errorf("protected header (-want +got):\n%s", diff)
	}
	if len(unprotected) != 0 {
		t.Errorf("unprotected header = %v, want empty", unprotected)
	}
	if diff := cmp.Diff(encode(t, wireClaims(kid, sampleClaims())), payload); diff != "" {
		t.Errorf("payload (-want +got):\n%s", diff)
	}

	digest := sha256.Sum256(encode(t, []any{"Signature1", protected, []byte{}, payload}))
	if len(sig) != 64 {
		t.Fatalf("signature is %d bytes", len(sig))
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(&key.PublicKey, digest[:], r, s) {
		t.Error("signature does not verify over the RFC 9052 Sig_structure")
	}
}

func TestClaimsIsACopy(t *testing.T) {
	b, err := evidence.Sign(newTestKey(t), sampleClaims())
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evidence.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	c := ev.Claims()
	c.Nonce[0] ^= 0xff
	c.Components[0].Name = "changed"
	if diff := cmp.Diff(sampleClaims(), ev.Claims()); diff != "" {
		t.Errorf("claims changed through a copy (-want +got):\n%s", diff)
	}
}

func TestUnknownIgnored(t *testing.T) {
	key := newTestKey(t)
	msg, claims := newMessage(t, key)
	claims[99] = "a claim from the future"
	claims["vendor"] = map[any]any{"x": []any{1, 2, 3}}
	claims[-80000] = []byte{1, 2, 3}
	claims[cbor.ByteString("b")] = 1
	comps := claims[keyComponents].([]any)
	comps[0].(map[any]any)[5] = "extra component field"
	msg.payload = encode(t, claims)
	msg.unprotected = map[any]any{"note": "unprotected and ignored"}

	ev, err := evidence.Parse(msg.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Verify(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sampleClaims(), ev.Claims()); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}

func TestErrorType(t *testing.T) {
	_, err := evidence.Parse(nil)
	wrapped := errors.Join(errors.New("attestation"), err)
	var e *evidence.Error
	if !errors.As(wrapped, &e) {
		t.Fatalf("errors.As found no *Error in %v", wrapped)
	}
	if e.Code != evidence.CodeMalformed {
		t.Errorf("code = %q, want %q", e.Code, evidence.CodeMalformed)
	}
	if got, want := e.Error(), "evidence: "+e.Message; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	m, _ := newMessage(t, newTestKey(t))
	m.signer = newTestKey(t)
	ev, err := evidence.Parse(m.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Verify(); errors.Unwrap(err) == nil {
		t.Errorf("Verify error %v carries no cause for the log", err)
	}
}
