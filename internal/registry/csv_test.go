package registry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/registry"
)

func TestCSVValid(t *testing.T) {
	ids := testIDs(t, 3)
	tests := []struct {
		name  string
		input string
	}{
		{"one column", join("\n", "device_id", ids[0], ids[1], ids[2])},
		{"other columns", join("\n", "serial,device_id,batch", "1,"+ids[0]+",b7",
			"2,"+ids[1]+",b7", "3,"+ids[2]+",b8")},
		{"id last", join("\n", "serial,device_id", "1,"+ids[0], "2,"+ids[1], "3,"+ids[2])},
		{"header in capitals", join("\n", "Serial,DEVICE_ID", "1,"+ids[0], "2,"+ids[1],
			"3,"+ids[2])},
		{"header with spaces", join("\n", "serial, device_id ", "1,"+ids[0], "2,"+ids[1],
			"3,"+ids[2])},
		{"quoted header and values", join("\n", `"serial","device_id"`, `"1","`+ids[0]+`"`,
			`"2","`+ids[1]+`"`, `"3","`+ids[2]+`"`)},
		{"crlf", join("\r\n", "serial,device_id", "1,"+ids[0], "2,"+ids[1], "3,"+ids[2])},
		{"no final newline", "device_id\n" + ids[0] + "\n" + ids[1] + "\n" + ids[2]},
		{"no final newline crlf", "device_id\r\n" + ids[0] + "\r\n" + ids[1] + "\r\n" +
			ids[2] + "\r\n"},
		{"blank lines", join("\n", "", "device_id", "", ids[0], ids[1], "", ids[2], "")},
		{"byte order mark", "\xef\xbb\xbf" + join("\r\n", "device_id,serial", ids[0]+",1",
			ids[1]+",2", ids[2]+",3")},
		{"ragged rows", join("\n", "device_id,serial,batch", ids[0], ids[1]+",2",
			ids[2]+",3,b,extra")},
	}
	for _, tt := range tests {
		for _, split := range []bool{false, true} {
			name := tt.name
			if split {
				name += "/one byte reads"
			}
			t.Run(name, func(t *testing.T) {
				r := maybeOneByte(strings.NewReader(tt.input), split)
				b, err := registry.ParseBatch(r, registry.CSV, 100)
				if err != nil {
					t.Fatalf("ParseBatch: %v", err)
				}
				want := registry.Batch{IDs: parsed(t, ids...), Lines: 3}
				if diff := cmp.Diff(want, b, batchOpts); diff != "" {
					t.Errorf("batch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestCSVDefects(t *testing.T) {
	ids := testIDs(t, 2)
	good := ids[0]
	tests := []struct {
		name string
		row  string // with the columns serial,device_id,batch
		code string
	}{
		{"empty id", "7,,b", registry.CodeMissingDeviceID},
		{"no id column", "7", registry.CodeMissingDeviceID},
		{"127 characters", "7," + good[:127] + ",b", registry.CodeInvalidLength},
		{"129 characters", "7," + good + "0,b", registry.CodeInvalidLength},
		{"leading space", "7, " + good + ",b", registry.CodeInvalidLength},
		{"uppercase", "7," + strings.ToUpper(good) + ",b", registry.CodeInvalidHex},
		{"not hex", "7,z" + good[1:] + ",b", registry.CodeInvalidHex},
		{"zero point", "7," + strings.Repeat("0", 128) + ",b", registry.CodeNotOnCurve},
		{"bare quote", `7,ab"c,b`, registry.CodeInvalidCSV},
		{"text after quotes", `7,"` + good + `"x,b`, registry.CodeInvalidCSV},
		{"semicolons", "7;" + good + ";b", registry.CodeMissingDeviceID},
	}
	for _, tt := range tests {
		for _, eol := range []string{"\n", "\r\n"} {
			t.Run(tt.name+"/"+map[string]string{"\n": "lf", "\r\n": "crlf"}[eol],
				func(t *testing.T) {
					// The defect is on physical line 4, after a blank line.
					in := join(eol, "serial,device_id,batch", "1,"+ids[0]+",b", "",
						tt.row, "2,"+ids[1]+",b")
					b, err := registry.ParseBatch(strings.NewReader(in), registry.CSV, 10)
					if err != nil {
						t.Fatalf("ParseBatch: %v", err)
					}
					want := registry.Batch{
						IDs:    parsed(t, ids...),
						Lines:  3,
						Errors: []registry.LineError{{Line: 4, Code: tt.code}},
					}
					if diff := cmp.Diff(want, b, batchOpts); diff != "" {
						t.Errorf("batch (-want +got):\n%s", diff)
					}
					checkMessages(t, b.Errors)
				})
		}
	}
}

// A quoted field may span lines; line numbers after it stay physical.
func TestCSVLineNumbersAfterMultilineField(t *testing.T) {
	ids := testIDs(t, 1)
	in := join("\n",
		"device_id,note",
		ids[0]+`,"two`,
		`lines"`,
		"bad,x",
		`"`+ids[0][:100]+`",`,
		`"unterminated`,
		"more")
	b, err := registry.ParseBatch(strings.NewReader(in), registry.CSV, 10)
	if err != nil {
		t.Fatalf("ParseBatch: %v", err)
	}
	want := registry.Batch{
		IDs:   parsed(t, ids[0]),
		Lines: 4,
		Errors: []registry.LineError{
			{Line: 4, Code: registry.CodeInvalidLength},
			{Line: 5, Code: registry.CodeInvalidLength},
			{Line: 6, Code: registry.CodeInvalidCSV},
		},
	}
	if diff := cmp.Diff(want, b, batchOpts); diff != "" {
		t.Errorf("batch (-want +got):\n%s", diff)
	}
}

func TestCSVHeaderErrors(t *testing.T) {
	ids := testIDs(t, 1)
	tests := []struct {
		name  string
		input string
		want  error
	}{
		{"no device_id column", join("\n", "serial,batch", "1,b"), registry.ErrHeader},
		{"no header", join("\n", ids[0], ids[0]), registry.ErrHeader},
		{"device_id twice", join("\n", "device_id,Device_ID", ids[0]+","+ids[0]),
			registry.ErrHeader},
		{"misspelt", join("\n", "deviceid", ids[0]), registry.ErrHeader},
		{"bare quote in header", join("\n", `dev"ice_id`, ids[0]), registry.ErrHeader},
		{"header only", "device_id\n", registry.ErrEmpty},
		{"header only, blank lines", "device_id\n\n\r\n", registry.ErrEmpty},
		{"empty", "", registry.ErrEmpty},
		{"blank lines", "\n\n\r\n", registry.ErrEmpty},
		{"byte order mark only", "\xef\xbb\xbf", registry.ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := registry.ParseBatch(strings.NewReader(tt.input), registry.CSV, 10)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseBatch = %+v, %v; want %v", b, err, tt.want)
			}
			if b.Lines != 0 || b.IDs != nil || b.Errors != nil {
				t.Errorf("ParseBatch returned %+v with its error", b)
			}
		})
	}
}
