package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/veraison/go-cose"
)

// MaxSize is the largest evidence, in bytes, that Parse accepts.
const MaxSize = 64 << 10

// cborTagSign1 is the first byte of a COSE_Sign1_Tagged message: tag 18.
const cborTagSign1 = 0xd2

// Evidence is parsed evidence: well-formed, with valid claims and a ueid that
// matches its device ID, but with its signature not yet checked.
type Evidence struct {
	msg    *cose.Sign1Message
	id     deviceid.ID
	claims Claims
	digest [32]byte
}

// Parse decodes evidence and checks everything but its signature, which
// [Evidence.Verify] checks. Errors are of type [*Error].
func Parse(b []byte) (*Evidence, error) {
	if len(b) > MaxSize {
		return nil, newError(CodeTooLarge, "evidence is %d bytes, more than %d", len(b), MaxSize)
	}
	if len(b) == 0 || b[0] != cborTagSign1 {
		return nil, newError(CodeMalformed, "not a COSE_Sign1 message with tag 18")
	}
	msg := new(cose.Sign1Message)
	if err := msg.UnmarshalCBOR(b); err != nil {
		return nil, wrapError(CodeMalformed, err, "COSE_Sign1")
	}
	if msg.Payload == nil {
		return nil, newError(CodeMalformed, "payload is detached")
	}
	if err := checkHeaders(&msg.Headers); err != nil {
		return nil, err
	}

	kid, id, err := parseKeyID(msg.Headers.Protected)
	if err != nil {
		return nil, err
	}
	claims, ueid, err := decodeClaims(msg.Payload)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(ueid, ueidOf(kid)) {
		return nil, newError(CodeUEIDMismatch, "claim %s does not match the kid", nameUEID)
	}
	return &Evidence{msg: msg, id: id, claims: claims, digest: sha256.Sum256(b)}, nil
}

// checkHeaders checks the header parameters other than kid.
func checkHeaders(h *cose.Headers) error {
	for label := range h.Protected {
		if _, ok := h.Unprotected[label]; ok {
			return newError(CodeMalformed,
				"header parameter %v is both protected and unprotected", label)
		}
	}
	if _, ok := h.Protected[cose.HeaderLabelCritical]; ok {
		return newError(CodeMalformed, "critical header parameters are not supported")
	}

	alg, err := h.Protected.Algorithm()
	if errors.Is(err, cose.ErrAlgorithmNotFound) {
		return newError(CodeUnsupportedAlgorithm, "protected header has no alg; use ES256 (-7)")
	}
	if err != nil {
		return newError(CodeUnsupportedAlgorithm, "alg is not an integer; use ES256 (-7)")
	}
	if alg != cose.AlgorithmES256 {
		return newError(CodeUnsupportedAlgorithm,
			"alg %d is not supported; use ES256 (-7)", int64(alg))
	}
	return nil
}

// parseKeyID returns the protected kid and the device ID it holds.
func parseKeyID(h cose.ProtectedHeader) ([]byte, deviceid.ID, error) {
	v, ok := h[cose.HeaderLabelKeyID]
	if !ok {
		return nil, deviceid.ID{}, newError(CodeDeviceIDInvalid,
			"protected header has no kid holding the device ID")
	}
	kid, ok := v.([]byte)
	if !ok || len(kid) != deviceid.Len/2 {
		return nil, deviceid.ID{}, newError(CodeDeviceIDInvalid,
			"kid must be the %d-byte device ID", deviceid.Len/2)
	}
	id, err := deviceid.Parse(hex.EncodeToString(kid))
	if err != nil {
		return nil, deviceid.ID{}, wrapError(CodeDeviceIDInvalid, err, "kid")
	}
	return kid, id, nil
}

// DeviceID returns the device ID from the kid header.
func (e *Evidence) DeviceID() deviceid.ID { return e.id }

// Claims returns a copy of the claims.
func (e *Evidence) Claims() Claims { return e.claims.clone() }

// Digest returns the SHA-256 of the evidence exactly as Parse received it.
func (e *Evidence) Digest() [32]byte { return e.digest }

// Verify checks the ES256 signature against the public key that the device ID
// encodes. Its errors are of type [*Error] with code signature_invalid.
func (e *Evidence) Verify() error {
	if e == nil || e.msg == nil {
		return newError(CodeSignatureInvalid, "no evidence to verify")
	}
	if n := len(e.msg.Signature); n != 64 {
		return newError(CodeSignatureInvalid, "ES256 signature must be 64 bytes, got %d", n)
	}
	pub, err := e.id.PublicKey()
	if err != nil {
		return wrapError(CodeSignatureInvalid, err, "device ID")
	}
	verifier, err := cose.NewVerifier(cose.AlgorithmES256, pub)
	if err != nil {
		return wrapError(CodeSignatureInvalid, err, "device ID")
	}
	if err := e.msg.Verify(nil, verifier); err != nil {
		return &Error{
			Code:    CodeSignatureInvalid,
			Message: "signature does not verify with the device ID's key",
			Err:     err,
		}
	}
	return nil
}
