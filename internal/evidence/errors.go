package evidence

import "fmt"

// Code classifies an evidence error. The values are stable: the DAA returns
// them to devices.
type Code string

// Error codes.
const (
	CodeMalformed            Code = "evidence_malformed"
	CodeTooLarge             Code = "evidence_too_large"
	CodeUnsupportedAlgorithm Code = "unsupported_algorithm"
	CodeClaimMissing         Code = "claim_missing"
	CodeClaimInvalid         Code = "claim_invalid"
	CodeDeviceIDInvalid      Code = "device_id_invalid"
	CodeUEIDMismatch         Code = "ueid_mismatch"
	CodeSignatureInvalid     Code = "signature_invalid"
)

// Error reports what is wrong with a piece of evidence. Message describes the
// defect in terms of the input and may be shown to the device that sent it.
type Error struct {
	Code    Code
	Message string
	Err     error // the underlying cause, if any
}

func (e *Error) Error() string { return "evidence: " + e.Message }

func (e *Error) Unwrap() error { return e.Err }

func newError(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// wrapError is newError with a cause, whose text ends the message.
func wrapError(code Code, err error, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: code, Message: msg + ": " + err.Error(), Err: err}
}
