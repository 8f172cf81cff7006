package adminapi

import (
	"encoding/json"
	"net/http"
)

// apiError is what a client sees of a failed request: a stable code, a plain
// message, and a hint where a likely fix exists. The cause, if any, goes to
// the log only.
type apiError struct {
	status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// Lines lists the bad lines of a refused device batch.
	Lines []lineError `json:"lines,omitempty"`
	// MoreLines counts bad lines beyond those listed.
	MoreLines int `json:"more_lines,omitempty"`

	cause error
}

type lineError struct {
	Line    int    `json:"line"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func newError(status int, code, msg string) *apiError {
	return &apiError{status: status, Code: code, Message: msg}
}

// withHint returns a copy of e with a hint; shared error values stay as
// they are.
func (e *apiError) withHint(h string) *apiError {
	c := *e
	c.Hint = h
	return &c
}

// Errors shared by many handlers.
var (
	errInternal = func(cause error) *apiError {
		e := newError(http.StatusInternalServerError, "internal",
			"the server failed to handle the request; see its log")
		e.cause = cause
		return e
	}
	errForbidden = func(msg string) *apiError {
		return newError(http.StatusForbidden, "forbidden", msg)
	}
	errTenantNotFound = newError(http.StatusNotFound, "tenant_not_found", "no such tenant")
	errDeviceNotFound = newError(http.StatusNotFound, "device_not_found",
		"no such device")
	errCANotFound = newError(http.StatusNotFound, "ca_not_found",
		"no CA certificate of this tenant has that thumbprint")
	errTokenNotFound = newError(http.StatusNotFound, "token_not_found", "no such token")
)

type errorBody struct {
	Error *apiError `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client has gone if this fails; nothing to do
}
