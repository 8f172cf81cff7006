package attestation_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/attestation"
)

func TestVerdictString(t *testing.T) {
	tests := []struct {
		v    attestation.Verdict
		want string
	}{
		{attestation.Affirming, "affirming"},
		{attestation.Warning, "warning"},
		{attestation.Contraindicated, "contraindicated"},
		{3, "verdict(3)"},
		{-1, "verdict(-1)"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.v.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseVerdict(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    attestation.Verdict
		wantErr string // empty: valid
	}{
		{"affirming", "affirming", attestation.Affirming, ""},
		{"warning", "warning", attestation.Warning, ""},
		{"contraindicated", "contraindicated", attestation.Contraindicated, ""},
		{"empty", "", 0, `unknown verdict ""`},
		{"uppercase", "Affirming", 0, `unknown verdict "Affirming"`},
		{"padded", " warning", 0, `unknown verdict " warning"`},
		{"number", "1", 0, `unknown verdict "1"`},
		{"out-of-range name", "verdict(3)", 0, "unknown verdict"},
		{"long input is cut", strings.Repeat("x", 100), 0, strings.Repeat("x", 32) + `…"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := attestation.ParseVerdict(tt.in)
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Fatalf("ParseVerdict(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseVerdict(%q) = %v, want error", tt.in, got)
			}
			if !strings.HasPrefix(err.Error(), "attestation: ") ||
				!strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseVerdict(%q) error = %q, want it to contain %q",
					tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestVerdictText(t *testing.T) {
	type doc struct {
		Verdict attestation.Verdict `json:"verdict"`
	}
	for _, v := range []attestation.Verdict{
		attestation.Affirming, attestation.Warning, attestation.Contraindicated,
	} {
		t.Run(v.String(), func(t *testing.T) {
			b, err := json.Marshal(doc{v})
			if err != nil {
				t.Fatal(err)
			}
			if want := `{"verdict":"` + v.String() + `"}`; string(b) != want {
				t.Errorf("json.Marshal = %s, want %s", b, want)
			}
			var back doc
			if err := json.Unmarshal(b, &back); err != nil || back.Verdict != v {
				t.Errorf("json.Unmarshal(%s) = %v, %v; want %v", b, back.Verdict, err, v)
			}
		})
	}

	t.Run("marshal out of range", func(t *testing.T) {
		if b, err := attestation.Verdict(3).MarshalText(); err == nil {
			t.Errorf("MarshalText() = %q, want error", b)
		}
	})
	t.Run("unmarshal unknown keeps value", func(t *testing.T) {
		v := attestation.Warning
		if err := v.UnmarshalText([]byte("trusted")); err == nil {
			t.Error("UnmarshalText(trusted) succeeded, want error")
		}
		if v != attestation.Warning {
			t.Errorf("after failed UnmarshalText, verdict = %v, want warning", v)
		}
	})
}
