package attestation_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hallmark-project/hallmark/attestation"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixtureResult is the result in testdata/result.der and in the example
// certificate.
func fixtureResult() attestation.Result {
	return attestation.Result{
		Verdict:          attestation.Warning,
		AppraisedAt:      time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC),
		EvidenceDigest:   sha256.Sum256([]byte("fixture evidence")),
		CatalogueVersion: 42,
		Components: []attestation.Component{
			{"bootloader", "1.4.2", sha256.Sum256([]byte("bootloader")), attestation.Affirming},
			{"kernel", "6.1.0-hm3", sha256.Sum256([]byte("kernel")), attestation.Warning},
			{"rootfs", "2025.03", sha256.Sum256([]byte("rootfs")), attestation.Affirming},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	withComponents := func(n int) attestation.Result {
		r := fixtureResult()
		r.Components = nil
		for range n {
			r.Components = append(r.Components, fixtureResult().Components[0])
		}
		return r
	}
	tests := []struct {
		name string
		in   attestation.Result
		want attestation.Result // zero: same as in
	}{
		{name: "fixture", in: fixtureResult()},
		{name: "no components", in: withComponents(0)},
		{name: "256 components", in: withComponents(attestation.MaxComponents)},
		{name: "contraindicated", in: func() attestation.Result {
			r := fixtureResult()
			r.Verdict = attestation.Contraindicated
			r.Components[2].Verdict = attestation.Contraindicated
			return r
		}()},
		{name: "largest catalogue version", in: func() attestation.Result {
			r := fixtureResult()
			r.CatalogueVersion = math.MaxInt64
			return r
		}()},
		{name: "catalogue version 0", in: func() attestation.Result {
			r := fixtureResult()
			r.CatalogueVersion = 0
			return r
		}()},
		{name: "non-ASCII name and empty version", in: func() attestation.Result {
			r := fixtureResult()
			r.Components[0].Name = "Überlader «α»"
			r.Components[0].Version = ""
			return r
		}()},
		{
			name: "local time with nanoseconds becomes whole UTC seconds",
			in: func() attestation.Result {
				r := fixtureResult()
				zone := time.FixedZone("UTC+1", 3600)
				r.AppraisedAt = time.Date(2025, 3, 14, 10, 30, 0, 999_999_999, zone)
				return r
			}(),
			want: fixtureResult(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			der, err := tt.in.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got, err := attestation.Parse(der)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want.AppraisedAt.IsZero() {
				want = tt.in
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse(Marshal(r)) mismatch (-want +got):\n%s", diff)
			}
			if loc := got.AppraisedAt.Location(); loc != time.UTC {
				t.Errorf("AppraisedAt location = %v, want UTC", loc)
			}
		})
	}
}

func TestMarshalRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *attestation.Result)
		want   string
	}{
		{"verdict 3", func(r *attestation.Result) { r.Verdict = 3 }, "verdict(3) out of range"},
		{"verdict -1", func(r *attestation.Result) { r.Verdict = -1 }, "verdict(-1) out of range"},
		{"zero time", func(r *attestation.Result) { r.AppraisedAt = time.Time{} },
			"appraisal time is zero"},
		{"year 10000", func(r *attestation.Result) {
			r.AppraisedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "not four digits"},
		{"zero evidence digest", func(r *attestation.Result) { r.EvidenceDigest = [32]byte{} },
			"evidence digest is all zeros"},
		{"negative catalogue version", func(r *attestation.Result) { r.CatalogueVersion = -1 },
			"catalogue version -1 is negative"},
		{"257 components", func(r *attestation.Result) {
			for len(r.Components) <= attestation.MaxComponents {
				r.Components = append(r.Components, r.Components[0])
			}
		}, "257 components, more than 256"},
		{"empty name", func(r *attestation.Result) { r.Components[1].Name = "" },
			"component 1: name is empty"},
		{"name not UTF-8", func(r *attestation.Result) { r.Components[0].Name = "boot\xff" },
			"component 0: name: not valid UTF-8"},
		{"version not UTF-8", func(r *attestation.Result) { r.Components[2].Version = "\xc3" },
			"component 2: version: not valid UTF-8"},
		{"newline in name", func(r *attestation.Result) { r.Components[0].Name = "a\nb" },
			"component 0: name: control character U+000A"},
		{"C1 control in version", func(r *attestation.Result) {
			r.Components[0].Version = "1.0\u009b"
		}, "component 0: version: control character U+009B"},
		{"component verdict 3", func(r *attestation.Result) { r.Components[1].Verdict = 3 },
			"component 1: verdict(3) out of range"},
		{"larger than MaxSize", func(r *attestation.Result) {
			long := strings.Repeat("n", 250)
			r.Components = nil
			for range attestation.MaxComponents {
				r.Components = append(r.Components,
					attestation.Component{Name: long, Version: long, Digest: [32]byte{1}})
			}
		}, "more than 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixtureResult()
			tt.modify(&r)
			der, err := r.Marshal()
			if err == nil {
				t.Fatalf("Marshal succeeded with %d bytes, want error", len(der))
			}
			if !strings.HasPrefix(err.Error(), "attestation: ") ||
				!strings.Contains(err.Error(), tt.want) {
				t.Errorf("Marshal error = %q, want it to contain %q", err, tt.want)
			}
			if _, err := r.Extension(); err == nil {
				t.Error("Extension succeeded, want error")
			}
		})
	}
}

func TestGolden(t *testing.T) {
	path := filepath.Join("testdata", "result.der")
	der, err := fixtureResult().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, der, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(der, golden) {
		t.Errorf("Marshal(fixture) differs from %s:\n got %x\nwant %x", path, der, golden)
	}

	got, err := attestation.Parse(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fixtureResult(), got); diff != "" {
		t.Errorf("Parse(%s) mismatch (-want +got):\n%s", path, diff)
	}
}

func TestParseErrorWithoutCause(t *testing.T) {
	var e attestation.ParseError
	if got, want := e.Error(), "attestation: invalid result"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Unwrap(&e) != nil {
		t.Error("Unwrap() of an empty ParseError is not nil")
	}
}
