// Package registry reads the batches of device IDs that manufacturers
// register at silicon manufacturing.
//
// A batch is uploaded in one of two formats (see [ParseFormat]):
//
//   - JSON lines: one object per line, {"device_id":"<128 hex>"}. Blank lines
//     are skipped. Any other field, a second device_id, or trailing data after
//     the object makes the line invalid.
//   - CSV: a header row naming the columns comes first and must contain a
//     device_id column (matched without regard to case or surrounding spaces);
//     other columns, such as batch or serial, are allowed and ignored. Each
//     following row names one device.
//
// In both formats a leading UTF-8 byte order mark is dropped, lines may end in
// "\n" or "\r\n", and no line may be longer than [MaxLineLen] bytes. Device
// IDs are checked with [deviceid.Parse]; they are taken exactly as written,
// without trimming.
//
// # Policy
//
// A batch with any invalid line is refused whole: nothing in it is registered.
// [ParseBatch] still reads the batch to its end so that the manufacturer can
// be told every bad line at once, by line number and a stable code
// ([LineError]); it keeps the first [MaxErrors] and counts the rest in
// [Batch.MoreErrors]. [Batch.Err] says whether the batch may be registered.
// Problems with the stream as a whole (too many lines, a line too long, a CSV
// header without a device_id column, an empty batch, a read error) end the
// reading and are returned as errors.
//
// Duplicate IDs within a batch are not errors; the batch keeps each ID once.
// Whether an ID is registered already is for the store to decide, not this
// package.
package registry

import (
	"errors"
	"fmt"
	"mime"

	"github.com/hallmark-project/hallmark/deviceid"
)

// MaxLineLen is the longest line, in bytes without its line ending, that a
// batch may hold.
const MaxLineLen = 4096

// MaxErrors is how many line errors a [Batch] keeps.
const MaxErrors = 100

// Stable codes of [LineError], for clients to branch on.
const (
	CodeInvalidJSON     = "invalid_json"      // not a JSON object, or bad JSON
	CodeUnknownField    = "unknown_field"     // a field other than device_id
	CodeMissingDeviceID = "missing_device_id" // no device_id, or an empty one
	CodeInvalidLength   = "invalid_length"    // deviceid.ErrLength
	CodeInvalidHex      = "invalid_hex"       // deviceid.ErrNotHex
	CodeNotOnCurve      = "not_on_curve"      // deviceid.ErrNotPoint
	CodeInvalidCSV      = "invalid_csv"       // a CSV syntax error, such as a bare quote
	// CodeInvalidDeviceID is for any other reason deviceid.Parse may give;
	// it gives none today.
	CodeInvalidDeviceID = "invalid_device_id"
)

// Errors about a batch as a whole. ParseBatch wraps them with detail.
var (
	ErrUnsupportedFormat = errors.New("unsupported batch format")
	ErrTooLarge          = errors.New("batch too large")
	ErrLineTooLong       = errors.New("line too long")
	ErrHeader            = errors.New("invalid CSV header")
	ErrEmpty             = errors.New("batch is empty")
	ErrInvalidLines      = errors.New("batch has invalid lines")
)

// Format is the encoding of a batch.
type Format int

// The batch formats.
const (
	JSONLines Format = iota + 1
	CSV
)

// String returns the name of the format.
func (f Format) String() string {
	switch f {
	case JSONLines:
		return "jsonl"
	case CSV:
		return "csv"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat returns the format of an upload from its Content-Type header
// value. It ignores parameters such as charset.
func ParseFormat(contentType string) (Format, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil && !errors.Is(err, mime.ErrInvalidMediaParameter) {
		return 0, fmt.Errorf("%w %q: want application/x-ndjson or text/csv",
			ErrUnsupportedFormat, cut(contentType))
	}
	switch mt {
	case "application/x-ndjson", "application/jsonl", "application/json-lines":
		return JSONLines, nil
	case "text/csv":
		return CSV, nil
	}
	return 0, fmt.Errorf("%w %q: want application/x-ndjson or text/csv",
		ErrUnsupportedFormat, cut(mt))
}

// Batch is what ParseBatch read.
type Batch struct {
	IDs        []deviceid.ID // valid IDs, each once, in the order first seen
	Lines      int           // data lines read, valid or not
	Errors     []LineError   // the first MaxErrors invalid lines, in order
	MoreErrors int           // invalid lines beyond those in Errors
}

// Err returns nil if every line of the batch was valid, so that it may be
// registered, and an error wrapping [ErrInvalidLines] if not.
func (b Batch) Err() error {
	if len(b.Errors) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %d invalid, first at line %d",
		ErrInvalidLines, len(b.Errors)+b.MoreErrors, b.Errors[0].Line)
}

// LineError says why one line of a batch is invalid. Message is for the
// manufacturer and does not repeat the line's content.
type LineError struct {
	Line    int    // 1-based physical line number in the input
	Code    string // one of the Code constants
	Message string
}

// cut shortens untrusted input for use in a message.
func cut(s string) string {
	const limit = 32
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
