package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hallmark-project/hallmark/internal/daa/wire"
)

// maxRetryAfter caps the wait that a Retry-After header can ask for.
const maxRetryAfter = time.Hour

// maxText bounds each text field of a refusal kept from the DAA's answer.
const maxText = 512

// RefusedError is a DAA answer other than success: a refusal that names the
// check that failed, a rate limit, or a failure of the service.
type RefusedError struct {
	Op     string // the refused request: "challenge" or "attestation"
	Status int    // HTTP status
	// Code names the failed check, such as "device_blocked" or
	// "software_revoked"; empty if the answer was not a DAA error.
	Code    string
	Message string
	// RetryAfter is the wait the DAA asked for on a 429 or 503 answer, at
	// most an hour; 0 if it asked for none.
	RetryAfter time.Duration
	// Components is the appraisal of each boot component, for the refusals
	// of the measured software.
	Components []wire.ComponentOutcome
}

func (e *RefusedError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("agent: the DAA refused the %s: HTTP %d %s: %s",
			e.Op, e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("agent: the DAA refused the %s: %s: %s (HTTP %d)",
		e.Op, e.Code, e.Message, e.Status)
}

// newRefusedError reads a DAA answer that is not a success. The text it
// keeps is cleaned of control characters, as it may reach a terminal.
func newRefusedError(op string, resp *http.Response, raw []byte, now time.Time) *RefusedError {
	e := &RefusedError{Op: op, Status: resp.StatusCode}
	var body wire.ErrorResponse
	if err := json.Unmarshal(raw, &body); err == nil && body.Error.Code != "" {
		e.Code = clean(body.Error.Code)
		e.Message = clean(body.Error.Message)
		for _, c := range body.Error.Components {
			e.Components = append(e.Components, wire.ComponentOutcome{Name: clean(c.Name),
				Version: clean(c.Version), Verdict: clean(c.Verdict), Reason: clean(c.Reason)})
		}
	} else {
		e.Message = "the answer is not a DAA error"
	}
	if resp.StatusCode == http.StatusTooManyRequests ||
		resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	return e
}

// parseRetryAfter reads a Retry-After value, seconds or an HTTP date, as a
// wait from now; 0 if it is absent or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		d = maxRetryAfter
		if secs < int64(maxRetryAfter/time.Second) {
			d = time.Duration(secs) * time.Second
		}
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// clean removes control characters from s and cuts it to maxText bytes.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > maxText {
		s = strings.ToValidUTF8(s[:maxText], "") + "…"
	}
	return s
}
