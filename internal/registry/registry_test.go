package registry_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/registry"
)

// testIDs returns the device IDs of n fresh P-256 test keys.
func testIDs(tb testing.TB, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	for i := range ids {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		raw, err := key.PublicKey.Bytes()
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = hex.EncodeToString(raw[1:])
	}
	return ids
}

// parsed returns the deviceid.IDs of valid ID strings.
func parsed(tb testing.TB, ss ...string) []deviceid.ID {
	tb.Helper()
	ids := make([]deviceid.ID, len(ss))
	for i, s := range ss {
		id, err := deviceid.Parse(s)
		if err != nil {
			tb.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// jsonLine returns a JSON line for the device ID s.
func jsonLine(s string) string { return `{"device_id":"` + s + `"}` }

// join ends each line with eol.
func join(eol string, lines ...string) string {
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l)
		sb.WriteString(eol)
	}
	return sb.String()
}

// lineErrorsOnly compares line errors by line and code; messages are
// checked to be present separately.
var lineErrorsOnly = cmpopts.IgnoreFields(registry.LineError{}, "Message")

var batchOpts = cmp.Options{
	cmp.Comparer(func(a, b deviceid.ID) bool { return a == b }),
	lineErrorsOnly,
	cmpopts.EquateEmpty(),
}

func checkMessages(t *testing.T, errs []registry.LineError) {
	t.Helper()
	for _, e := range errs {
		if e.Message == "" {
			t.Errorf("line %d (%s) has no message", e.Line, e.Code)
		}
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		want        registry.Format
	}{
		{"ndjson", "application/x-ndjson", registry.JSONLines},
		{"jsonl", "application/jsonl", registry.JSONLines},
		{"json-lines", "application/json-lines", registry.JSONLines},
		{"ndjson with charset", "application/x-ndjson; charset=utf-8", registry.JSONLines},
		{"csv", "text/csv", registry.CSV},
		{"csv with charset", "text/csv; charset=utf-8", registry.CSV},
		{"csv with header param", "text/csv;header=present", registry.CSV},
		{"csv mixed case", "Text/CSV", registry.CSV},
		{"csv with broken parameter", "text/csv; charset", registry.CSV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := registry.ParseFormat(tt.contentType)
			if err != nil {
				t.Fatalf("ParseFormat(%q): %v", tt.contentType, err)
			}
			if got != tt.want {
				t.Errorf("ParseFormat(%q) = %v, want %v", tt.contentType, got, tt.want)
			}
		})
	}
}

func TestParseFormatRejects(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
	}{
		{"empty", ""},
		{"json", "application/json"},
		{"plain text", "text/plain"},
		{"form", "multipart/form-data; boundary=x"},
		{"octet stream", "application/octet-stream"},
		{"no subtype", "text"},
		{"garbage", ";;;"},
		{"csv prefix", "text/csvx"},
		{"long", strings.Repeat("x", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := registry.ParseFormat(tt.contentType)
			if !errors.Is(err, registry.ErrUnsupportedFormat) {
				t.Fatalf("ParseFormat(%q) = %v, %v; want ErrUnsupportedFormat",
					tt.contentType, f, err)
			}
			if len(err.Error()) > 200 {
				t.Errorf("error repeats too much input: %d bytes", len(err.Error()))
			}
		})
	}
}

func TestFormatString(t *testing.T) {
	for f, want := range map[registry.Format]string{
		registry.JSONLines: "jsonl",
		registry.CSV:       "csv",
		registry.Format(9): "Format(9)",
	} {
		if got := f.String(); got != want {
			t.Errorf("Format(%d).String() = %q, want %q", int(f), got, want)
		}
	}
}
