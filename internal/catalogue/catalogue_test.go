package catalogue

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/attestation"
)

func digest(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func hexDigest(s string) string { d := digest(s); return hex.EncodeToString(d[:]) }

// testDoc trusts two releases of the loader (1.0 superseded by 1.1), one
// of the kernel with 0.9 below the minimum, and revokes kernel 2.0-rc.
var testDoc = `{"components": [
  {"name": "loader", "min_svn": 1, "trusted": [
    {"digest": "` + hexDigest("loader-1.0") + `", "version": "1.0", "svn": 1},
    {"digest": "` + hexDigest("loader-1.1") + `", "version": "1.1", "svn": 2}]},
  {"name": "kernel", "min_svn": 3, "trusted": [
    {"digest": "` + hexDigest("kernel-0.9") + `", "version": "0.9", "svn": 2},
    {"digest": "` + hexDigest("kernel-1.0") + `", "version": "1.0", "svn": 3}],
   "revoked": ["` + hexDigest("kernel-2.0-rc") + `"]},
  {"name": "app", "optional": true, "trusted": [
    {"digest": "` + hexDigest("app-1") + `", "version": "1", "svn": 0}]}
]}`

func m(name, version string, svn uint64) Measurement {
	return Measurement{Name: name, Version: version, SVN: svn,
		Digest: digest(name + "-" + version)}
}

func TestAppraise(t *testing.T) {
	doc, err := Parse([]byte(testDoc))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(7, doc)
	if err != nil {
		t.Fatal(err)
	}
	tampered := m("kernel", "1.0", 3)
	tampered.Digest[0] ^= 1

	tests := []struct {
		name    string
		boot    []Measurement
		verdict attestation.Verdict
		reasons []string
	}{
		{"newest releases", []Measurement{m("loader", "1.1", 2), m("kernel", "1.0", 3)},
			attestation.Affirming, []string{ReasonTrusted, ReasonTrusted}},
		{"superseded loader", []Measurement{m("loader", "1.0", 1), m("kernel", "1.0", 3)},
			attestation.Warning, []string{ReasonSuperseded, ReasonTrusted}},
		{"optional component present", []Measurement{m("loader", "1.1", 2),
			m("kernel", "1.0", 3), m("app", "1", 0)},
			attestation.Affirming, []string{ReasonTrusted, ReasonTrusted, ReasonTrusted}},
		{"revoked kernel", []Measurement{m("loader", "1.1", 2), m("kernel", "2.0-rc", 4)},
			attestation.Contraindicated, []string{ReasonTrusted, ReasonRevoked}},
		{"kernel below minimum", []Measurement{m("loader", "1.1", 2), m("kernel", "0.9", 2)},
			attestation.Contraindicated, []string{ReasonTrusted, ReasonBelowMinimum}},
		{"tampered kernel", []Measurement{m("loader", "1.1", 2), tampered},
			attestation.Contraindicated, []string{ReasonTrusted, ReasonUnknownDigest}},
		{"version claimed falsely", []Measurement{m("loader", "1.1", 2),
			{Name: "kernel", Version: "9.9", SVN: 3, Digest: digest("kernel-1.0")}},
			attestation.Contraindicated, []string{ReasonTrusted, ReasonMismatch}},
		{"svn claimed falsely", []Measurement{m("loader", "1.1", 2),
			{Name: "kernel", Version: "1.0", SVN: 9, Digest: digest("kernel-1.0")}},
			attestation.Contraindicated, []string{ReasonTrusted, ReasonMismatch}},
		{"unknown component", []Measurement{m("loader", "1.1", 2), m("kernel", "1.0", 3),
			m("rootkit", "1", 0)},
			attestation.Contraindicated, []string{ReasonTrusted, ReasonTrusted,
				ReasonUnknownComponent}},
		{"measured twice", []Measurement{m("loader", "1.1", 2), m("kernel", "1.0", 3),
			m("kernel", "1.0", 3)},
			attestation.Contraindicated, []string{ReasonTrusted, ReasonTrusted,
				ReasonDuplicate}},
		{"kernel missing", []Measurement{m("loader", "1.1", 2)},
			attestation.Contraindicated, []string{ReasonTrusted, ReasonMissing}},
		{"empty boot", nil, attestation.Contraindicated,
			[]string{ReasonMissing, ReasonMissing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.Appraise(tt.boot)
			if a.Verdict != tt.verdict {
				t.Errorf("verdict = %v, want %v", a.Verdict, tt.verdict)
			}
			if a.CatalogueVersion != 7 {
				t.Errorf("catalogue version = %d, want 7", a.CatalogueVersion)
			}
			var reasons []string
			for _, o := range a.Outcomes {
				reasons = append(reasons, o.Reason)
			}
			if diff := cmp.Diff(tt.reasons, reasons); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEmptyCatalogueRefusesEmptyBoot(t *testing.T) {
	c, err := New(1, Document{})
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Appraise(nil); a.Verdict != attestation.Contraindicated {
		t.Fatalf("empty boot against empty catalogue = %v, want contraindicated", a.Verdict)
	}
}

func TestParseRefuses(t *testing.T) {
	d1, d2 := hexDigest("a"), hexDigest("b")
	rel := func(d string) string { return `{"digest":"` + d + `","version":"1","svn":1}` }
	tests := []struct{ name, doc, want string }{
		{"not JSON", `{`, "unexpected EOF"},
		{"unknown field", `{"components":[],"extra":1}`, "unknown field"},
		{"trailing data", `{"components":[]} {}`, "trailing data"},
		{"empty name", `{"components":[{"name":"","trusted":[` + rel(d1) + `]}]}`, "name"},
		{"control character", `{"components":[{"name":"a\u0001","trusted":[` + rel(d1) +
			`]}]}`, "control"},
		{"twice", `{"components":[{"name":"a","trusted":[` + rel(d1) + `]},{"name":"a",` +
			`"trusted":[` + rel(d2) + `]}]}`, "listed twice"},
		{"no trusted release", `{"components":[{"name":"a","trusted":[]}]}`, "no trusted"},
		{"short digest", `{"components":[{"name":"a","trusted":[` + rel("abcd") + `]}]}`,
			"64 hex"},
		{"non-hex digest", `{"components":[{"name":"a","trusted":[` +
			rel(strings.Repeat("g", 64)) + `]}]}`, "not hex"},
		{"empty version", `{"components":[{"name":"a","trusted":[{"digest":"` + d1 +
			`","version":"","svn":1}]}]}`, "version"},
		{"digest trusted twice", `{"components":[{"name":"a","trusted":[` + rel(d1) + `,` +
			rel(d1) + `]}]}`, "trusted twice"},
		{"trusted and revoked", `{"components":[{"name":"a","trusted":[` + rel(d1) +
			`],"revoked":["` + d1 + `"]}]}`, "both trusted and revoked"},
		{"negative svn", `{"components":[{"name":"a","trusted":[{"digest":"` + d1 +
			`","version":"1","svn":-1}]}]}`, "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(testDoc))
	f.Add([]byte(`{"components":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		c, err := New(1, d)
		if err != nil {
			t.Fatalf("Parse accepted a document New refuses: %v", err)
		}
		c.Appraise(nil)
	})
}
