package registry_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/registry"
)

var formats = []registry.Format{registry.JSONLines, registry.CSV}

// document renders device ID strings as a batch in format f.
func document(f registry.Format, eol string, ids ...string) string {
	var sb strings.Builder
	if f == registry.CSV {
		sb.WriteString("device_id" + eol)
	}
	for _, id := range ids {
		sb.WriteString(row(f, id) + eol)
	}
	return sb.String()
}

// row returns the line for one device ID in format f.
func row(f registry.Format, id string) string {
	if f == registry.JSONLines {
		return jsonLine(id)
	}
	return id
}

// lineOffset is the physical line of the first device in a document.
func lineOffset(f registry.Format) int {
	if f == registry.CSV {
		return 2
	}
	return 1
}

func TestDuplicates(t *testing.T) {
	ids := testIDs(t, 3)
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			in := document(f, "\n", ids[0], ids[1], ids[0], ids[2], ids[1], ids[1])
			b, err := registry.ParseBatch(strings.NewReader(in), f, 6)
			if err != nil {
				t.Fatalf("ParseBatch: %v", err)
			}
			want := registry.Batch{IDs: parsed(t, ids...), Lines: 6}
			if diff := cmp.Diff(want, b, batchOpts); diff != "" {
				t.Errorf("batch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorCap(t *testing.T) {
	ids := testIDs(t, 1)
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			lines := []string{ids[0]}
			for range 150 {
				lines = append(lines, "abc")
			}
			in := document(f, "\n", lines...)
			b, err := registry.ParseBatch(strings.NewReader(in), f, 1000)
			if err != nil {
				t.Fatalf("ParseBatch: %v", err)
			}
			if len(b.Errors) != registry.MaxErrors || b.MoreErrors != 50 || b.Lines != 151 {
				t.Fatalf("got %d errors and %d more in %d lines, want %d, 50, 151",
					len(b.Errors), b.MoreErrors, b.Lines, registry.MaxErrors)
			}
			for i, e := range b.Errors {
				if want := lineOffset(f) + 1 + i; e.Line != want {
					t.Fatalf("Errors[%d].Line = %d, want %d", i, e.Line, want)
				}
			}
			err = b.Err()
			if !errors.Is(err, registry.ErrInvalidLines) {
				t.Fatalf("Err() = %v, want ErrInvalidLines", err)
			}
			want := fmt.Sprintf("150 invalid, first at line %d", lineOffset(f)+1)
			if !strings.Contains(err.Error(), want) {
				t.Errorf("Err() = %q, want it to say %q", err, want)
			}
		})
	}
}

func TestMaxLines(t *testing.T) {
	ids := testIDs(t, 4)
	for _, f := range formats {
		t.Run(f.String(), func(t *testing.T) {
			exact := document(f, "\n", ids[:3]...)
			if _, err := registry.ParseBatch(strings.NewReader(exact), f, 3); err != nil {
				t.Fatalf("3 lines with a limit of 3: %v", err)
			}

			over := document(f, "\n", ids...)
			_, err := registry.ParseBatch(strings.NewReader(over), f, 3)
			if !errors.Is(err, registry.ErrTooLarge) {
				t.Fatalf("4 lines with a limit of 3: %v, want ErrTooLarge", err)
			}
			if want := "batch too large: more than 3 lines"; err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}

			bad := document(f, "\n", "x", "y", "z", "w")
			_, err = registry.ParseBatch(strings.NewReader(bad), f, 3)
			if !errors.Is(err, registry.ErrTooLarge) {
				t.Errorf("4 invalid lines with a limit of 3: %v, want ErrTooLarge", err)
			}

			blank := document(f, "\n\n\n", ids[:3]...)
			if _, err := registry.ParseBatch(strings.NewReader(blank), f, 3); err != nil {
				t.Errorf("blank lines counted against the limit: %v", err)
			}

			for _, limit := range []int{0, -1} {
				if _, err := registry.ParseBatch(strings.NewReader(exact), f, limit); err == nil {
					t.Errorf("limit %d accepted", limit)
				}
			}
		})
	}
}

func TestLineLength(t *testing.T) {
	ids := testIDs(t, 1)
	// pad returns a line of n bytes that is a well-formed line of format f
	// with a device ID of the wrong length.
	pad := func(f registry.Format, n int) string {
		if f == registry.JSONLines {
			return jsonLine(strings.Repeat("a", n-len(jsonLine(""))))
		}
		return strings.Repeat("a", n)
	}
	tests := []struct {
		name    string
		n       int
		eol     string
		last    bool // the long line is the last, without a line ending
		wantErr bool
	}{
		{"at limit lf", registry.MaxLineLen, "\n", false, false},
		{"at limit crlf", registry.MaxLineLen, "\r\n", false, false},
		{"at limit at end", registry.MaxLineLen, "\n", true, false},
		{"over limit lf", registry.MaxLineLen + 1, "\n", false, true},
		{"over limit crlf", registry.MaxLineLen + 1, "\r\n", false, true},
		{"over limit at end", registry.MaxLineLen + 1, "\n", true, true},
		{"far over limit", 10 * registry.MaxLineLen, "\n", false, true},
	}
	for _, f := range formats {
		for _, tt := range tests {
			t.Run(f.String()+"/"+tt.name, func(t *testing.T) {
				in := document(f, tt.eol, ids[0], ids[0])
				in += pad(f, tt.n)
				if !tt.last {
					in += tt.eol + row(f, ids[0]) + tt.eol
				}
				longLine := lineOffset(f) + 2
				b, err := registry.ParseBatch(strings.NewReader(in), f, 10)
				if tt.wantErr {
					if !errors.Is(err, registry.ErrLineTooLong) {
						t.Fatalf("ParseBatch = %v, want ErrLineTooLong", err)
					}
					want := fmt.Sprintf("line %d:", longLine)
					if !strings.HasPrefix(err.Error(), want) {
						t.Errorf("error %q does not start with %q", err, want)
					}
					return
				}
				if err != nil {
					t.Fatalf("ParseBatch: %v", err)
				}
				if len(b.Errors) == 0 || b.Errors[0].Line != longLine ||
					b.Errors[0].Code != registry.CodeInvalidLength {
					t.Errorf("errors = %+v, want invalid_length on line %d", b.Errors, longLine)
				}
			})
		}
	}
}

func TestStreamErrors(t *testing.T) {
	ids := testIDs(t, 1)
	errBroken := errors.New("connection reset")
	for _, f := range formats {
		t.Run(f.String()+"/empty", func(t *testing.T) {
			for _, in := range []string{"", "\n", "\r\n\r\n", "\xef\xbb\xbf"} {
				_, err := registry.ParseBatch(strings.NewReader(in), f, 10)
				if !errors.Is(err, registry.ErrEmpty) {
					t.Errorf("ParseBatch(%q) = %v, want ErrEmpty", in, err)
				}
			}
		})
		t.Run(f.String()+"/read error at start", func(t *testing.T) {
			_, err := registry.ParseBatch(iotest.ErrReader(errBroken), f, 10)
			if !errors.Is(err, errBroken) {
				t.Errorf("ParseBatch = %v, want %v", err, errBroken)
			}
		})
		t.Run(f.String()+"/read error midway", func(t *testing.T) {
			in := document(f, "\n", ids[0], ids[0], ids[0])
			r := io.MultiReader(strings.NewReader(in), iotest.ErrReader(errBroken))
			_, err := registry.ParseBatch(r, f, 10)
			if !errors.Is(err, errBroken) {
				t.Errorf("ParseBatch = %v, want %v", err, errBroken)
			}
		})
		t.Run(f.String()+"/timeout reader", func(t *testing.T) {
			in := document(f, "\n", ids[0])
			_, err := registry.ParseBatch(iotest.TimeoutReader(strings.NewReader(in)), f, 10)
			if !errors.Is(err, iotest.ErrTimeout) {
				t.Errorf("ParseBatch = %v, want %v", err, iotest.ErrTimeout)
			}
		})
	}
	t.Run("unknown format", func(t *testing.T) {
		in := document(registry.CSV, "\n", ids[0])
		_, err := registry.ParseBatch(strings.NewReader(in), registry.Format(0), 10)
		if !errors.Is(err, registry.ErrUnsupportedFormat) {
			t.Errorf("ParseBatch = %v, want ErrUnsupportedFormat", err)
		}
	})
}

func TestBatchErrNil(t *testing.T) {
	if err := (registry.Batch{}).Err(); err != nil {
		t.Errorf("Err() of a batch without errors = %v", err)
	}
}
