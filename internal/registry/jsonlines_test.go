package registry_test

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/registry"
)

func TestJSONLinesValid(t *testing.T) {
	ids := testIDs(t, 3)
	tests := []struct {
		name  string
		input string
		lines int
	}{
		{"lf", join("\n", jsonLine(ids[0]), jsonLine(ids[1]), jsonLine(ids[2])), 3},
		{"crlf", join("\r\n", jsonLine(ids[0]), jsonLine(ids[1]), jsonLine(ids[2])), 3},
		{"no final newline", jsonLine(ids[0]) + "\n" + jsonLine(ids[1]) + "\n" +
			jsonLine(ids[2]), 3},
		{"blank lines", join("\n", "", jsonLine(ids[0]), "   ", "\t", jsonLine(ids[1]), "",
			jsonLine(ids[2]), ""), 3},
		{"byte order mark", "\xef\xbb\xbf" + join("\n", jsonLine(ids[0]), jsonLine(ids[1]),
			jsonLine(ids[2])), 3},
		{"spaces around", join("\n", "  "+jsonLine(ids[0])+" ", `{ "device_id" : "`+ids[1]+`" }`,
			"\t"+jsonLine(ids[2])), 3},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			name := tt.name
			if split {
				name += "/one byte reads"
			}
			t.Run(name, func(t *testing.T) {
				r := maybeOneByte(strings.NewReader(tt.input), split)
				b, err := registry.ParseBatch(r, registry.JSONLines, 100)
				if err != nil {
					t.Fatalf("ParseBatch: %v", err)
				}
				want := registry.Batch{IDs: parsed(t, ids...), Lines: tt.lines}
				if diff := cmp.Diff(want, b, batchOpts); diff != "" {
					t.Errorf("batch (-want +got):\n%s", diff)
				}
				if err := b.Err(); err != nil {
					t.Errorf("Err() = %v", err)
				}
			})
		}
	}
}

// maybeOneByte makes r return one byte per read if split is set.
func maybeOneByte(r io.Reader, split bool) io.Reader {
	if split {
		return iotest.OneByteReader(r)
	}
	return r
}

func TestJSONLinesDefects(t *testing.T) {
	ids := testIDs(t, 2)
	good := ids[0]
	tests := []struct {
		name string
		line string
		code string
	}{
		{"not json", "device_id=" + good, registry.CodeInvalidJSON},
		{"truncated object", `{"device_id":"` + good, registry.CodeInvalidJSON},
		{"trailing data", jsonLine(good) + " x", registry.CodeInvalidJSON},
		{"trailing comma", `{"device_id":"` + good + `",}`, registry.CodeInvalidJSON},
		{"two objects", jsonLine(good) + jsonLine(good), registry.CodeInvalidJSON},
		{"bare string", `"` + good + `"`, registry.CodeInvalidJSON},
		{"array", `["` + good + `"]`, registry.CodeInvalidJSON},
		{"number", `12`, registry.CodeInvalidJSON},
		{"form feed only", "\f", registry.CodeInvalidJSON},
		{"form feed after", jsonLine(good) + "\f", registry.CodeInvalidJSON},
		{"no-break space before", "\u00a0" + jsonLine(good), registry.CodeInvalidJSON},
		{"null line", `null`, registry.CodeInvalidJSON},
		{"id is a number", `{"device_id":12}`, registry.CodeInvalidJSON},
		{"id is an object", `{"device_id":{"x":1}}`, registry.CodeInvalidJSON},
		{"duplicate field", `{"device_id":"` + good + `","device_id":"` + good + `"}`,
			registry.CodeInvalidJSON},
		{"unknown field", `{"device_id":"` + good + `","serial":"7"}`,
			registry.CodeUnknownField},
		{"unknown field first", `{"batch":1,"device_id":"` + good + `"}`,
			registry.CodeUnknownField},
		{"key in other case", `{"Device_ID":"` + good + `"}`, registry.CodeUnknownField},
		{"empty object", `{}`, registry.CodeMissingDeviceID},
		{"null id", `{"device_id":null}`, registry.CodeMissingDeviceID},
		{"empty id", `{"device_id":""}`, registry.CodeMissingDeviceID},
		{"127 characters", jsonLine(good[:127]), registry.CodeInvalidLength},
		{"129 characters", jsonLine(good + "0"), registry.CodeInvalidLength},
		{"padded with spaces", jsonLine(" " + good + " "), registry.CodeInvalidLength},
		{"uppercase", jsonLine(strings.ToUpper(good)), registry.CodeInvalidHex},
		{"not hex", jsonLine("z" + good[1:]), registry.CodeInvalidHex},
		{"zero point", jsonLine(strings.Repeat("0", 128)), registry.CodeNotOnCurve},
		{"off the curve", jsonLine(good[:64] + strings.Repeat("0", 64)),
			registry.CodeNotOnCurve},
	}
	for _, tt := range tests {
		for _, eol := range []string{"\n", "\r\n"} {
			t.Run(tt.name+"/"+map[string]string{"\n": "lf", "\r\n": "crlf"}[eol],
				func(t *testing.T) {
					// The defect is on physical line 3, after a blank line.
					in := join(eol, jsonLine(ids[0]), "", tt.line, jsonLine(ids[1]))
					b, err := registry.ParseBatch(strings.NewReader(in), registry.JSONLines, 10)
					if err != nil {
						t.Fatalf("ParseBatch: %v", err)
					}
					want := registry.Batch{
						IDs:    parsed(t, ids...),
						Lines:  3,
						Errors: []registry.LineError{{Line: 3, Code: tt.code}},
					}
					if diff := cmp.Diff(want, b, batchOpts); diff != "" {
						t.Errorf("batch (-want +got):\n%s", diff)
					}
					checkMessages(t, b.Errors)
					if b.Err() == nil {
						t.Error("Err() = nil for a batch with an invalid line")
					}
				})
		}
	}
}

func TestJSONLinesMessageHidesInput(t *testing.T) {
	secret := strings.Repeat("s", 200)
	in := `{"device_id":"` + secret + `"}` + "\n" + `{"` + secret + `":1}` + "\n"
	b, err := registry.ParseBatch(strings.NewReader(in), registry.JSONLines, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range b.Errors {
		if strings.Contains(e.Message, secret) {
			t.Errorf("line %d: message repeats the whole input: %q", e.Line, e.Message)
		}
	}
}
