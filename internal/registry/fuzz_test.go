package registry_test

import (
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/registry"
)

var knownCodes = map[string]bool{
	registry.CodeInvalidJSON:     true,
	registry.CodeUnknownField:    true,
	registry.CodeMissingDeviceID: true,
	registry.CodeInvalidLength:   true,
	registry.CodeInvalidHex:      true,
	registry.CodeNotOnCurve:      true,
	registry.CodeInvalidCSV:      true,
}

// checkBatch checks what must hold of any batch ParseBatch accepts.
func checkBatch(t *testing.T, in string, b registry.Batch, maxLines int) {
	t.Helper()
	physical := strings.Count(in, "\n") + 1
	if b.Lines < 1 || b.Lines > maxLines || b.Lines > physical {
		t.Fatalf("Lines = %d, input has %d lines, limit %d", b.Lines, physical, maxLines)
	}
	if len(b.Errors) > registry.MaxErrors {
		t.Fatalf("%d errors kept, more than %d", len(b.Errors), registry.MaxErrors)
	}
	if b.MoreErrors < 0 || (b.MoreErrors > 0 && len(b.Errors) < registry.MaxErrors) {
		t.Fatalf("MoreErrors = %d with %d errors kept", b.MoreErrors, len(b.Errors))
	}
	if n := len(b.IDs) + len(b.Errors) + b.MoreErrors; n > b.Lines {
		t.Fatalf("%d IDs and errors from %d lines", n, b.Lines)
	}
	seen := make(map[deviceid.ID]bool)
	for _, id := range b.IDs {
		if id.IsZero() || seen[id] {
			t.Fatalf("zero or repeated ID %q", id)
		}
		seen[id] = true
	}
	last := 0
	for _, e := range b.Errors {
		if e.Line <= last || e.Line > physical {
			t.Fatalf("error line %d after %d, input has %d lines", e.Line, last, physical)
		}
		last = e.Line
		if !knownCodes[e.Code] || e.Message == "" {
			t.Fatalf("error %+v has an unknown code or no message", e)
		}
	}
	if (b.Err() == nil) != (len(b.Errors) == 0) {
		t.Fatalf("Err() = %v with %d errors", b.Err(), len(b.Errors))
	}
}

func fuzzFormat(f *testing.F, format registry.Format, seeds []string) {
	for _, s := range seeds {
		f.Add(s)
	}
	const maxLines = 50
	f.Fuzz(func(t *testing.T, in string) {
		b, err := registry.ParseBatch(strings.NewReader(in), format, maxLines)
		if err != nil {
			if b.Lines != 0 || b.IDs != nil || b.Errors != nil {
				t.Fatalf("batch %+v returned with error %v", b, err)
			}
			return
		}
		checkBatch(t, in, b, maxLines)
	})
}

func FuzzParseBatchJSONLines(f *testing.F) {
	ids := testIDs(f, 2)
	fuzzFormat(f, registry.JSONLines, []string{
		"",
		document(registry.JSONLines, "\n", ids...),
		document(registry.JSONLines, "\r\n", ids[0], ids[0], "abc"),
		`{"device_id":"` + ids[0] + `","x":1}` + "\n{}\n[1]\n{\"device_id\":null}",
		`{"device_id":"` + ids[0] + `"}{"device_id":1}`,
		"\xef\xbb\xbf" + jsonLine(ids[1]),
	})
}

func FuzzParseBatchCSV(f *testing.F) {
	ids := testIDs(f, 2)
	fuzzFormat(f, registry.CSV, []string{
		"",
		document(registry.CSV, "\n", ids...),
		document(registry.CSV, "\r\n", ids[0], ids[0], "abc", ""),
		"serial,device_id\n1\n2,\"" + ids[0] + "\"\n3,a\"b\n4,\"x\ny\"\n5,\"open",
		"a,b\n1,2\n",
		"\xef\xbb\xbfDevice_ID\r\n" + ids[1],
	})
}
