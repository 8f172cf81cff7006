// Package wire defines the JSON messages of the DAA protocol, shared by the
// DAA front end and the device agent.
//
// A device asks for a challenge, then sends evidence that signs the
// challenge's nonce together with a certificate request, over HTTPS:
//
//	POST /daa/v1/challenges    ChallengeRequest    -> 201 ChallengeResponse
//	POST /daa/v1/attestations  AttestationRequest  -> 201 AttestationResponse
//
// Byte fields are base64 (standard, padded) in JSON. A failed request answers
// with an ErrorResponse whose code names the check that failed; 429 answers
// carry Retry-After in seconds.
package wire

import "time"

// Paths of the DAA endpoints.
const (
	ChallengesPath   = "/daa/v1/challenges"
	AttestationsPath = "/daa/v1/attestations"
)

// ChallengeRequest is the body of POST /daa/v1/challenges.
type ChallengeRequest struct {
	DeviceID string `json:"device_id"`
}

// ChallengeResponse answers a challenge request.
type ChallengeResponse struct {
	Nonce     []byte    `json:"nonce"` // 32 bytes, base64 in JSON
	ExpiresAt time.Time `json:"expires_at"`
}

// AttestationRequest is the body of POST /daa/v1/attestations.
type AttestationRequest struct {
	Evidence []byte `json:"evidence"` // COSE_Sign1, base64 in JSON
	CSR      []byte `json:"csr"`      // PKCS#10 DER, base64 in JSON
}

// AttestationResponse answers an accepted attestation.
type AttestationResponse struct {
	// Certificate is the device certificate, PEM.
	Certificate string `json:"certificate"`
	// Chain is the tenant CA and the intermediate, PEM, in that order.
	Chain     string    `json:"chain"`
	Serial    string    `json:"serial"` // hex
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// RenewAt is when the device should attest again: before NotAfter, with
	// jitter so that a fleet does not renew at once.
	RenewAt time.Time `json:"renew_at"`
	Verdict string    `json:"verdict"` // "affirming" or "warning"
}

// ErrorResponse is the body of every failed request.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody says which check failed; it never carries internal detail.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Components lists each measured component's outcome, for the software
	// refusals.
	Components []ComponentOutcome `json:"components,omitempty"`
}

// ComponentOutcome is the appraisal of one boot component.
type ComponentOutcome struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}
