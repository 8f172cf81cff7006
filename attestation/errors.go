package attestation

import "errors"

// ErrNotPresent means that a certificate carries no attestation result.
var ErrNotPresent = errors.New("attestation: certificate has no attestation result")

// ErrUnsupportedVersion is the cause, inside a [*ParseError], when a result
// has a version other than [Version].
var ErrUnsupportedVersion = errors.New("unsupported version")

// ParseError reports why an attestation result, or the extension that should
// carry one, is malformed.
type ParseError struct {
	Err error // what is wrong; may wrap ErrUnsupportedVersion or an encoding/asn1 error
}

func (e *ParseError) Error() string {
	if e.Err == nil {
		return "attestation: invalid result"
	}
	return "attestation: invalid result: " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }
