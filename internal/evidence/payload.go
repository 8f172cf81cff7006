package evidence

import (
	"fmt"
	"math"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Claim keys and the names that error messages use for them.
const (
	keyIssuedAt   = 6
	keyNonce      = 10
	keyUEID       = 256
	keyComponents = -70001
	keyKeyBinding = -70002

	nameIssuedAt   = "iat (6)"
	nameNonce      = "eat_nonce (10)"
	nameUEID       = "ueid (256)"
	nameComponents = "components (-70001)"
	nameKeyBinding = "key_binding (-70002)"
)

// ueidTypeRAND is the UEID type byte for a random or derived identifier.
const ueidTypeRAND = 0x01

// Component keys.
const (
	compName    = 1
	compVersion = 2
	compDigest  = 3
	compSVN     = 4
)

// Major types of CBOR data items (RFC 8949, section 3.1).
const (
	majorNone = -1 // no data item at all
	majorMap  = 5
)

var (
	payloadEncMode = mustEncMode()
	payloadDecMode = mustDecMode()
)

func mustEncMode() cbor.EncMode {
	m, err := cbor.EncOptions{
		Sort:        cbor.SortCoreDeterministic,
		IndefLength: cbor.IndefLengthForbidden,
	}.EncMode()
	if err != nil {
		panic("evidence: CBOR encoding options: " + err.Error())
	}
	return m
}

func mustDecMode() cbor.DecMode {
	m, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
		MaxNestedLevels:  16,
		MaxArrayElements: 1024,
		MaxMapPairs:      1024,
		IntDec:           cbor.IntDecConvertNone, // lookup relies on it
	}.DecMode()
	if err != nil {
		panic("evidence: CBOR decoding options: " + err.Error())
	}
	return m
}

type claimsOut struct {
	IssuedAt   int64          `cbor:"6,keyasint"`
	Nonce      []byte         `cbor:"10,keyasint"`
	UEID       []byte         `cbor:"256,keyasint"`
	Components []componentOut `cbor:"-70001,keyasint"`
	KeyBinding []byte         `cbor:"-70002,keyasint"`
}

type componentOut struct {
	Name    string `cbor:"1,keyasint"`
	Version string `cbor:"2,keyasint"`
	Digest  []byte `cbor:"3,keyasint"`
	SVN     uint64 `cbor:"4,keyasint"`
}

// encodeClaims encodes valid claims with the given ueid.
func encodeClaims(c *Claims, ueid []byte) ([]byte, error) {
	out := claimsOut{
		IssuedAt:   c.IssuedAt.Unix(),
		Nonce:      c.Nonce,
		UEID:       ueid,
		Components: make([]componentOut, len(c.Components)),
		KeyBinding: c.KeyBinding[:],
	}
	for i, comp := range c.Components {
		out.Components[i] = componentOut{
			Name:    comp.Name,
			Version: comp.Version,
			Digest:  comp.Digest[:],
			SVN:     comp.SVN,
		}
	}
	b, err := payloadEncMode.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("evidence: encode claims: %w", err)
	}
	return b, nil
}

// decodeClaims decodes and validates a claims set and returns it with the
// ueid, which the caller compares with the device ID. The payload is decoded
// generically, so that duplicate keys are found at every depth, unknown
// claims included.
func decodeClaims(payload []byte) (Claims, []byte, error) {
	if major(payload) != majorMap {
		return Claims{}, nil, newError(CodeMalformed, "payload is not a CBOR map")
	}
	var m map[any]any
	if err := payloadDecMode.Unmarshal(payload, &m); err != nil {
		return Claims{}, nil, wrapError(CodeMalformed, err, "payload")
	}
	for _, r := range []struct {
		key  int64
		name string
	}{
		{keyNonce, nameNonce},
		{keyIssuedAt, nameIssuedAt},
		{keyUEID, nameUEID},
		{keyComponents, nameComponents},
		{keyKeyBinding, nameKeyBinding},
	} {
		if _, ok := lookup(m, r.key); !ok {
			return Claims{}, nil, newError(CodeClaimMissing, "missing claim %s", r.name)
		}
	}

	var c Claims
	var err error
	if c.Nonce, err = asBytes(m, keyNonce, "claim "+nameNonce); err != nil {
		return Claims{}, nil, err
	}
	if c.IssuedAt, err = asTime(m, keyIssuedAt, "claim "+nameIssuedAt); err != nil {
		return Claims{}, nil, err
	}
	if c.KeyBinding, err = asDigest(m, keyKeyBinding, "claim "+nameKeyBinding); err != nil {
		return Claims{}, nil, err
	}
	if c.Components, err = asComponents(m); err != nil {
		return Claims{}, nil, err
	}

	ueid, err := asBytes(m, keyUEID, "claim "+nameUEID)
	if err != nil {
		return Claims{}, nil, err
	}
	if len(ueid) != 1+32 || ueid[0] != ueidTypeRAND {
		return Claims{}, nil, newError(CodeClaimInvalid,
			"claim %s must be 0x01 followed by 32 bytes", nameUEID)
	}
	if err := c.validate(); err != nil {
		return Claims{}, nil, err
	}
	return c, ueid, nil
}

// lookup finds an integer key in a decoded map, where the decoder gives
// unsigned keys as uint64 and negative ones as int64.
func lookup(m map[any]any, key int64) (any, bool) {
	if key >= 0 {
		v, ok := m[uint64(key)]
		return v, ok
	}
	v, ok := m[key]
	return v, ok
}

func asComponents(m map[any]any) ([]Component, error) {
	v, _ := lookup(m, keyComponents)
	items, ok := v.([]any)
	if !ok {
		return nil, newError(CodeClaimInvalid, "claim %s must be an array", nameComponents)
	}
	if len(items) == 0 || len(items) > MaxComponents {
		return nil, newError(CodeClaimInvalid, "claim %s must have 1 to %d entries, got %d",
			nameComponents, MaxComponents, len(items))
	}

	comps := make([]Component, len(items))
	for i, item := range items {
		what := fmt.Sprintf("claim %s[%d]", nameComponents, i)
		cm, ok := item.(map[any]any)
		if !ok {
			return nil, newError(CodeClaimInvalid, "%s must be a map", what)
		}
		c, err := asComponent(cm, what)
		if err != nil {
			return nil, err
		}
		comps[i] = c
	}
	return comps, nil
}

func asComponent(m map[any]any, what string) (Component, error) {
	for _, f := range []struct {
		key  int64
		name string
	}{{compName, "name (1)"}, {compVersion, "version (2)"}, {compDigest, "digest (3)"},
		{compSVN, "svn (4)"}} {
		if _, ok := lookup(m, f.key); !ok {
			return Component{}, newError(CodeClaimInvalid, "%s: missing %s", what, f.name)
		}
	}

	var c Component
	var err error
	if c.Name, err = asText(m, compName, what+" name (1)"); err != nil {
		return Component{}, err
	}
	if c.Version, err = asText(m, compVersion, what+" version (2)"); err != nil {
		return Component{}, err
	}
	if c.Digest, err = asDigest(m, compDigest, what+" digest (3)"); err != nil {
		return Component{}, err
	}
	if c.SVN, err = asUint(m, compSVN, what+" svn (4)"); err != nil {
		return Component{}, err
	}
	return c, nil
}

func asTime(m map[any]any, key int64, what string) (time.Time, error) {
	secs, err := asUint(m, key, what)
	if err != nil {
		return time.Time{}, err
	}
	if secs > math.MaxInt64 {
		return time.Time{}, newError(CodeClaimInvalid, "%s is out of range", what)
	}
	return time.Unix(int64(secs), 0).UTC(), nil
}

func asDigest(m map[any]any, key int64, what string) ([32]byte, error) {
	b, err := asBytes(m, key, what)
	if err != nil {
		return [32]byte{}, err
	}
	if len(b) != 32 {
		return [32]byte{}, newError(CodeClaimInvalid, "%s must be 32 bytes, got %d", what, len(b))
	}
	return [32]byte(b), nil
}

func asBytes(m map[any]any, key int64, what string) ([]byte, error) {
	v, _ := lookup(m, key)
	b, ok := v.([]byte)
	if !ok {
		return nil, newError(CodeClaimInvalid, "%s must be a byte string", what)
	}
	return b, nil
}

func asText(m map[any]any, key int64, what string) (string, error) {
	v, _ := lookup(m, key)
	s, ok := v.(string)
	if !ok {
		return "", newError(CodeClaimInvalid, "%s must be a text string", what)
	}
	return s, nil
}

func asUint(m map[any]any, key int64, what string) (uint64, error) {
	v, _ := lookup(m, key)
	n, ok := v.(uint64)
	if !ok {
		return 0, newError(CodeClaimInvalid, "%s must be an unsigned integer", what)
	}
	return n, nil
}

// major returns the major type of the data item that starts raw.
func major(raw []byte) int {
	if len(raw) == 0 {
		return majorNone
	}
	return int(raw[0] >> 5)
}
