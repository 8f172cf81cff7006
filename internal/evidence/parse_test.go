package evidence_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// TestParseDefects gives Parse one defect at a time. Each case edits a valid
// message (m) and its claims map (c), or returns bytes of its own.
func TestParseDefects(t *testing.T) {
	key := newTestKey(t)
	kid := rawID(t, &key.PublicKey)
	other := rawID(t, &newTestKey(t).PublicKey)

	type builder = func(t *testing.T, m *message, c map[any]any) []byte

	// editClaims re-encodes the payload after f has changed the claims.
	editClaims := func(f func(c map[any]any)) builder {
		return func(t *testing.T, m *message, c map[any]any) []byte {
			f(c)
			m.payload = encode(t, c)
			return m.bytes(t)
		}
	}
	editComponent := func(f func(comp map[any]any)) builder {
		return editClaims(func(c map[any]any) {
			f(c[keyComponents].([]any)[1].(map[any]any))
		})
	}
	editMessage := func(f func(m *message)) builder {
		return func(t *testing.T, m *message, _ map[any]any) []byte {
			f(m)
			return m.bytes(t)
		}
	}
	withPayload := func(f func(t *testing.T, c map[any]any) []byte) builder {
		return func(t *testing.T, m *message, c map[any]any) []byte {
			m.payload = f(t, c)
			return m.bytes(t)
		}
	}
	nested := func(depth int) any {
		var v any = 1
		for range depth {
			v = []any{v}
		}
		return v
	}

	tests := []struct {
		name  string
		build builder
		code  evidence.Code
		msg   string // a part of the message
	}{
		// The envelope.
		{"empty", func(*testing.T, *message, map[any]any) []byte { return nil },
			evidence.CodeMalformed, "tag 18"},
		{"not CBOR", func(*testing.T, *message, map[any]any) []byte { return []byte("hello") },
			evidence.CodeMalformed, "tag 18"},
		{"too large", func(t *testing.T, m *message, _ map[any]any) []byte {
			return append(m.bytes(t), make([]byte, evidence.MaxSize)...)
		}, evidence.CodeTooLarge, "more than 65536"},
		{"untagged", func(t *testing.T, m *message, _ map[any]any) []byte {
			var tag cbor.RawTag
			if err := cbor.Unmarshal(m.bytes(t), &tag); err != nil {
				t.Fatal(err)
			}
			return tag.Content
		}, evidence.CodeMalformed, "tag 18"},
		{"CWT tag around it", func(t *testing.T, m *message, _ map[any]any) []byte {
			return encode(t, cbor.Tag{Number: 61, Content: cbor.RawMessage(m.bytes(t))})
		}, evidence.CodeMalformed, "tag 18"},
		{"COSE_Sign tag", func(t *testing.T, m *message, _ map[any]any) []byte {
			b := m.bytes(t)
			return append([]byte{0xd8, 98}, b[1:]...)
		}, evidence.CodeMalformed, "tag 18"},
		{"trailing bytes", func(t *testing.T, m *message, _ map[any]any) []byte {
			return append(m.bytes(t), 0x00)
		}, evidence.CodeMalformed, "COSE_Sign1"},
		{"three elements", func(t *testing.T, m *message, _ map[any]any) []byte {
			return encode(t, cbor.Tag{Number: tagSign1, Content: []any{
				encode(t, m.protected), m.unprotected, m.payload}})
		}, evidence.CodeMalformed, "COSE_Sign1"},
		{"five elements", func(t *testing.T, m *message, _ map[any]any) []byte {
			return encode(t, cbor.Tag{Number: tagSign1, Content: []any{
				encode(t, m.protected), m.unprotected, m.payload, make([]byte, 64), 0}})
		}, evidence.CodeMalformed, "COSE_Sign1"},
		{"empty signature", func(t *testing.T, m *message, _ map[any]any) []byte {
			return encode(t, cbor.Tag{Number: tagSign1, Content: []any{
				encode(t, m.protected), m.unprotected, m.payload, []byte{}}})
		}, evidence.CodeMalformed, "signature"},
		{"detached payload", editMessage(func(m *message) { m.payload = nil }),
			evidence.CodeMalformed, "detached"},
		{"indefinite-length payload", func(t *testing.T, m *message, _ map[any]any) []byte {
			b := m.bytes(t)
			i := bytes.Index(b, m.payload)
			head := b[:i]
			// Replace the payload's bstr head with an indefinite bstr of one chunk.
			for n := len(head) - 1; n >= 0; n-- {
				if head[n]>>5 == 2 {
					head = head[:n]
					break
				}
			}
			chunk := encode(t, m.payload)
			out := append(append([]byte{}, head...), 0x5f)
			out = append(append(out, chunk...), 0xff)
			return append(out, b[i+len(m.payload):]...)
		}, evidence.CodeMalformed, "COSE_Sign1"},

		// The headers.
		{"alg ES384", editMessage(func(m *message) { m.protected[1] = -35 }),
			evidence.CodeUnsupportedAlgorithm, "alg -35"},
		{"alg EdDSA", editMessage(func(m *message) { m.protected[1] = -8 }),
			evidence.CodeUnsupportedAlgorithm, "alg -8"},
		{"alg none as text", editMessage(func(m *message) { m.protected[1] = "none" }),
			evidence.CodeUnsupportedAlgorithm, "not an integer"},
		{"alg missing", editMessage(func(m *message) { delete(m.protected, 1) }),
			evidence.CodeUnsupportedAlgorithm, "no alg"},
		{"alg only unprotected", editMessage(func(m *message) {
			delete(m.protected, 1)
			m.unprotected[1] = algES256
		}), evidence.CodeUnsupportedAlgorithm, "no alg"},
		{"empty protected header", editMessage(func(m *message) {
			m.protected = map[any]any{}
			m.unprotected = map[any]any{1: algES256, 4: kid}
		}), evidence.CodeUnsupportedAlgorithm, "no alg"},
		{"alg in both headers", editMessage(func(m *message) { m.unprotected[1] = algES256 }),
			evidence.CodeMalformed, "both protected and unprotected"},
		{"crit header", editMessage(func(m *message) { m.protected[2] = []any{4} }),
			evidence.CodeMalformed, "critical"},
		{"kid missing", editMessage(func(m *message) { delete(m.protected, 4) }),
			evidence.CodeDeviceIDInvalid, "no kid"},
		{"kid only unprotected", editMessage(func(m *message) {
			delete(m.protected, 4)
			m.unprotected[4] = kid
		}), evidence.CodeDeviceIDInvalid, "no kid"},
		{"kid 65 bytes", editMessage(func(m *message) { m.protected[4] = append(kid, 0) }),
			evidence.CodeDeviceIDInvalid, "64-byte"},
		{"kid as hex text", editMessage(func(m *message) {
			m.protected[4] = hex.EncodeToString(kid)
		}), evidence.CodeMalformed, "kid"},
		{"kid not on curve", func(t *testing.T, m *message, c map[any]any) []byte {
			m.protected[4] = notOnCurve()
			c[keyUEID] = ueidOf(notOnCurve())
			m.payload = encode(t, c)
			return m.bytes(t)
		}, evidence.CodeDeviceIDInvalid, "not a point"},

		// The payload as a whole.
		{"payload an array", withPayload(func(t *testing.T, _ map[any]any) []byte {
			return encode(t, []any{1, 2})
		}), evidence.CodeMalformed, "not a CBOR map"},
		{"payload empty", withPayload(func(*testing.T, map[any]any) []byte { return []byte{} }),
			evidence.CodeMalformed, "not a CBOR map"},
		{"payload truncated", withPayload(func(t *testing.T, c map[any]any) []byte {
			b := encode(t, c)
			return b[:len(b)-1]
		}), evidence.CodeMalformed, "payload"},
		{"payload trailing bytes", withPayload(func(t *testing.T, c map[any]any) []byte {
			return append(encode(t, c), 0x00)
		}), evidence.CodeMalformed, "payload"},
		{"duplicate claim", withPayload(func(t *testing.T, c map[any]any) []byte {
			return withDuplicate(t, c, keyIssuedAt, c[keyIssuedAt])
		}), evidence.CodeMalformed, "duplicate"},
		{"duplicate unknown claim", withPayload(func(t *testing.T, c map[any]any) []byte {
			c[99] = 1
			return withDuplicate(t, c, 99, 2)
		}), evidence.CodeMalformed, "duplicate"},
		{"duplicate inside unknown claim", withPayload(func(t *testing.T, c map[any]any) []byte {
			c[99] = cbor.RawMessage(withDuplicate(t, map[any]any{1: 1}, 1, 1))
			return encode(t, c)
		}), evidence.CodeMalformed, "duplicate"},
		{"duplicate component key", withPayload(func(t *testing.T, c map[any]any) []byte {
			comps := c[keyComponents].([]any)
			comps[0] = cbor.RawMessage(withDuplicate(t, comps[0].(map[any]any), 4, 1))
			return encode(t, c)
		}), evidence.CodeMalformed, "duplicate"},
		{"tag on a claim", editClaims(func(c map[any]any) {
			c[keyNonce] = cbor.Tag{Number: 24, Content: c[keyNonce]}
		}), evidence.CodeMalformed, "tag"},
		{"tag in unknown claim", editClaims(func(c map[any]any) {
			c[99] = cbor.Tag{Number: 1, Content: 0}
		}), evidence.CodeMalformed, "tag"},
		{"indefinite-length claim", withPayload(func(t *testing.T, c map[any]any) []byte {
			return withRawEntry(t, c, 99, []byte{0x5f, 0x41, 0x00, 0xff})
		}), evidence.CodeMalformed, "indefinite"},
		{"nested too deep", editClaims(func(c map[any]any) { c[99] = nested(20) }),
			evidence.CodeMalformed, "nested"},
		{"too many array items", editClaims(func(c map[any]any) {
			c[99] = make([]any, 2000)
		}), evidence.CodeMalformed, "elements"},
		{"invalid UTF-8", editComponent(func(comp map[any]any) { comp[1] = "\xff" }),
			evidence.CodeMalformed, "UTF-8"},

		// Each required claim.
		{"no eat_nonce", editClaims(func(c map[any]any) { delete(c, keyNonce) }),
			evidence.CodeClaimMissing, "eat_nonce (10)"},
		{"no iat", editClaims(func(c map[any]any) { delete(c, keyIssuedAt) }),
			evidence.CodeClaimMissing, "iat (6)"},
		{"no ueid", editClaims(func(c map[any]any) { delete(c, keyUEID) }),
			evidence.CodeClaimMissing, "ueid (256)"},
		{"no components", editClaims(func(c map[any]any) { delete(c, keyComponents) }),
			evidence.CodeClaimMissing, "components (-70001)"},
		{"no key_binding", editClaims(func(c map[any]any) { delete(c, keyKeyBinding) }),
			evidence.CodeClaimMissing, "key_binding (-70002)"},
		{"claim key as text", editClaims(func(c map[any]any) {
			c["10"] = c[keyNonce]
			delete(c, keyNonce)
		}), evidence.CodeClaimMissing, "eat_nonce (10)"},

		// eat_nonce.
		{"nonce 16 bytes", editClaims(func(c map[any]any) { c[keyNonce] = make([]byte, 16) }),
			evidence.CodeClaimInvalid, "must be 32 bytes, got 16"},
		{"nonce 33 bytes", editClaims(func(c map[any]any) { c[keyNonce] = make([]byte, 33) }),
			evidence.CodeClaimInvalid, "must be 32 bytes, got 33"},
		{"nonce text", editClaims(func(c map[any]any) { c[keyNonce] = "nonce" }),
			evidence.CodeClaimInvalid, "eat_nonce (10) must be a byte string"},
		{"nonce array", editClaims(func(c map[any]any) {
			c[keyNonce] = []any{c[keyNonce]}
		}), evidence.CodeClaimInvalid, "eat_nonce (10) must be a byte string"},

		// iat.
		{"iat negative", editClaims(func(c map[any]any) { c[keyIssuedAt] = -1 }),
			evidence.CodeClaimInvalid, "iat (6) must be an unsigned integer"},
		{"iat float", editClaims(func(c map[any]any) { c[keyIssuedAt] = 1767225600.5 }),
			evidence.CodeClaimInvalid, "iat (6) must be an unsigned integer"},
		{"iat text", editClaims(func(c map[any]any) { c[keyIssuedAt] = "2026-01-01" }),
			evidence.CodeClaimInvalid, "iat (6) must be an unsigned integer"},
		{"iat beyond int64", editClaims(func(c map[any]any) { c[keyIssuedAt] = ^uint64(0) }),
			evidence.CodeClaimInvalid, "out of range"},

		// ueid.
		{"ueid of another device", editClaims(func(c map[any]any) { c[keyUEID] = ueidOf(other) }),
			evidence.CodeUEIDMismatch, "does not match"},
		{"ueid EUI type", editClaims(func(c map[any]any) {
			u := ueidOf(kid)
			u[0] = 0x02
			c[keyUEID] = u
		}), evidence.CodeClaimInvalid, "0x01 followed by 32 bytes"},
		{"ueid short", editClaims(func(c map[any]any) { c[keyUEID] = ueidOf(kid)[:17] }),
			evidence.CodeClaimInvalid, "0x01 followed by 32 bytes"},
		{"ueid is the device ID", editClaims(func(c map[any]any) {
			c[keyUEID] = append([]byte{0x01}, kid...)
		}), evidence.CodeClaimInvalid, "0x01 followed by 32 bytes"},
		{"ueid text", editClaims(func(c map[any]any) { c[keyUEID] = "ueid" }),
			evidence.CodeClaimInvalid, "ueid (256) must be a byte string"},

		// components.
		{"components a map", editClaims(func(c map[any]any) { c[keyComponents] = map[any]any{} }),
			evidence.CodeClaimInvalid, "must be an array"},
		{"components empty", editClaims(func(c map[any]any) { c[keyComponents] = []any{} }),
			evidence.CodeClaimInvalid, "1 to 64 entries, got 0"},
		{"too many components", editClaims(func(c map[any]any) {
			comps := make([]any, evidence.MaxComponents+1)
			for i := range comps {
				comps[i] = map[any]any{1: hex.EncodeToString([]byte{byte(i)}), 2: "1",
					3: make([]byte, 32), 4: 0}
			}
			c[keyComponents] = comps
		}), evidence.CodeClaimInvalid, "1 to 64 entries, got 65"},
		{"component not a map", editClaims(func(c map[any]any) {
			c[keyComponents].([]any)[1] = []any{"kernel"}
		}), evidence.CodeClaimInvalid, "claim components (-70001)[1] must be a map"},
		{"component without name", editComponent(func(comp map[any]any) { delete(comp, 1) }),
			evidence.CodeClaimInvalid, "[1]: missing name (1)"},
		{"component without version", editComponent(func(comp map[any]any) { delete(comp, 2) }),
			evidence.CodeClaimInvalid, "[1]: missing version (2)"},
		{"component without digest", editComponent(func(comp map[any]any) { delete(comp, 3) }),
			evidence.CodeClaimInvalid, "[1]: missing digest (3)"},
		{"component without svn", editComponent(func(comp map[any]any) { delete(comp, 4) }),
			evidence.CodeClaimInvalid, "[1]: missing svn (4)"},
		{"name bytes", editComponent(func(comp map[any]any) { comp[1] = []byte("kernel") }),
			evidence.CodeClaimInvalid, "name (1) must be a text string"},
		{"name empty", editComponent(func(comp map[any]any) { comp[1] = "" }),
			evidence.CodeClaimInvalid, "name (1): empty"},
		{"name too long", editComponent(func(comp map[any]any) {
			comp[1] = strings.Repeat("k", evidence.MaxTextLen+1)
		}), evidence.CodeClaimInvalid, "129 bytes"},
		{"name with newline", editComponent(func(comp map[any]any) { comp[1] = "ker\nnel" }),
			evidence.CodeClaimInvalid, "control character U+000A"},
		{"name with C1 control", editComponent(func(comp map[any]any) { comp[1] = "k\u0085" }),
			evidence.CodeClaimInvalid, "control character U+0085"},
		{"duplicate name", editComponent(func(comp map[any]any) { comp[1] = "bootloader" }),
			evidence.CodeClaimInvalid, "duplicate name \"bootloader\""},
		{"version number", editComponent(func(comp map[any]any) { comp[2] = 6 }),
			evidence.CodeClaimInvalid, "version (2) must be a text string"},
		{"version too long", editComponent(func(comp map[any]any) {
			comp[2] = strings.Repeat("1", evidence.MaxTextLen+1)
		}), evidence.CodeClaimInvalid, "version (2): 129 bytes"},
		{"version with DEL", editComponent(func(comp map[any]any) { comp[2] = "6\x7f" }),
			evidence.CodeClaimInvalid, "control character U+007F"},
		{"digest 31 bytes", editComponent(func(comp map[any]any) { comp[3] = make([]byte, 31) }),
			evidence.CodeClaimInvalid, "digest (3) must be 32 bytes, got 31"},
		{"digest 48 bytes", editComponent(func(comp map[any]any) { comp[3] = make([]byte, 48) }),
			evidence.CodeClaimInvalid, "digest (3) must be 32 bytes, got 48"},
		{"digest text", editComponent(func(comp map[any]any) { comp[3] = "ab" }),
			evidence.CodeClaimInvalid, "digest (3) must be a byte string"},
		{"svn negative", editComponent(func(comp map[any]any) { comp[4] = -1 }),
			evidence.CodeClaimInvalid, "svn (4) must be an unsigned integer"},
		{"svn text", editComponent(func(comp map[any]any) { comp[4] = "12" }),
			evidence.CodeClaimInvalid, "svn (4) must be an unsigned integer"},

		// key_binding.
		{"key binding 31 bytes", editClaims(func(c map[any]any) {
			c[keyKeyBinding] = make([]byte, 31)
		}), evidence.CodeClaimInvalid, "key_binding (-70002) must be 32 bytes, got 31"},
		{"key binding all zero", editClaims(func(c map[any]any) {
			c[keyKeyBinding] = make([]byte, 32)
		}), evidence.CodeClaimInvalid, "all zero"},
		{"key binding text", editClaims(func(c map[any]any) { c[keyKeyBinding] = "k" }),
			evidence.CodeClaimInvalid, "key_binding (-70002) must be a byte string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, c := newMessage(t, key)
			b := tt.build(t, m, c)
			ev, err := evidence.Parse(b)
			var e *evidence.Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse = %v, %v; want an *evidence.Error", ev, err)
			}
			if e.Code != tt.code {
				t.Errorf("code = %q, want %q (%v)", e.Code, tt.code, err)
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q does not contain %q", e.Message, tt.msg)
			}
		})
	}
}

// TestVerifyDefects gives Verify evidence that parses but is not signed by
// the device it names.
func TestVerifyDefects(t *testing.T) {
	key := newTestKey(t)
	tests := []struct {
		name  string
		build func(t *testing.T, m *message) []byte
	}{
		{"another device's key", func(t *testing.T, m *message) []byte {
			m.signer = newTestKey(t)
			return m.bytes(t)
		}},
		{"payload byte flipped", func(t *testing.T, m *message) []byte {
			b := m.bytes(t)
			nonce := sampleClaims().Nonce
			i := bytes.Index(b, nonce)
			b[i+5] ^= 0x01
			return b
		}},
		{"signature byte flipped", func(t *testing.T, m *message) []byte {
			b := m.bytes(t)
			b[len(b)-1] ^= 0x01
			return b
		}},
		{"signature over other claims", func(t *testing.T, m *message) []byte {
			b := m.bytes(t)
			other := *m
			c := wireClaims(rawID(t, &key.PublicKey), sampleClaims())
			c[keyIssuedAt] = 1767225601
			other.payload = encode(t, c)
			ob := other.bytes(t)
			return append(ob[:len(ob)-64], b[len(b)-64:]...)
		}},
		{"signature 63 bytes", func(t *testing.T, m *message) []byte {
			b := m.bytes(t)
			b = append(b[:len(b)-66], 0x58, 63)
			return append(b, make([]byte, 63)...)
		}},
		{"signature zero", func(t *testing.T, m *message) []byte {
			b := m.bytes(t)
			clear(b[len(b)-64:])
			return b
		}},
		{"signature DER", func(t *testing.T, m *message) []byte {
			b := m.bytes(t)
			r := append([]byte{0x02, 0x20}, b[len(b)-64:len(b)-32]...)
			s := append([]byte{0x02, 0x20}, b[len(b)-32:]...)
			der := append(append([]byte{0x30, 68}, r...), s...)
			b = append(b[:len(b)-66], 0x58, byte(len(der)))
			return append(b, der...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newMessage(t, key)
			b := tt.build(t, m)
			ev, err := evidence.Parse(b)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = ev.Verify()
			var e *evidence.Error
			if !errors.As(err, &e) || e.Code != evidence.CodeSignatureInvalid {
				t.Fatalf("Verify = %v, want code %q", err, evidence.CodeSignatureInvalid)
			}
			if ev.Digest() != sha256.Sum256(b) {
				t.Error("digest is not the SHA-256 of the evidence")
			}
		})
	}
}

func TestVerifyZero(t *testing.T) {
	for _, ev := range []*evidence.Evidence{nil, {}} {
		var e *evidence.Error
		if err := ev.Verify(); !errors.As(err, &e) || e.Code != evidence.CodeSignatureInvalid {
			t.Errorf("Verify of %#v = %v, want code %q", ev, err, evidence.CodeSignatureInvalid)
		}
	}
}

// TestHandBuiltVerifies checks that the hand-built message of the defect
// tables is itself valid, so each case fails for its one defect.
func TestHandBuiltVerifies(t *testing.T) {
	m, _ := newMessage(t, newTestKey(t))
	ev, err := evidence.Parse(m.bytes(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Verify(); err != nil {
		t.Fatal(err)
	}
}
