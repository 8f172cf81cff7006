package attestation

import (
	"errors"
	"fmt"
	"strconv"
)

// Verdict is the outcome of appraising a device or one of its components.
// Its values are those of the ASN.1 Verdict enumeration. The zero value is
// [Affirming].
type Verdict int

// The verdicts, with their ASN.1 values.
const (
	Affirming       Verdict = 0 // trusted software
	Warning         Verdict = 1 // trusted but superseded software
	Contraindicated Verdict = 2 // untrusted, revoked or rolled-back software
)

var verdictNames = [...]string{
	Affirming:       "affirming",
	Warning:         "warning",
	Contraindicated: "contraindicated",
}

func (v Verdict) valid() bool { return v >= Affirming && v <= Contraindicated }

// String returns the verdict's name: "affirming", "warning" or
// "contraindicated". An out-of-range value prints as "verdict(N)".
func (v Verdict) String() string {
	if !v.valid() {
		return "verdict(" + strconv.Itoa(int(v)) + ")"
	}
	return verdictNames[v]
}

// ParseVerdict returns the verdict named s, which must be one of the names
// that [Verdict.String] returns, in lowercase.
func ParseVerdict(s string) (Verdict, error) {
	for v, name := range verdictNames {
		if s == name {
			return Verdict(v), nil
		}
	}
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return 0, fmt.Errorf("attestation: unknown verdict %q", s)
}

// MarshalText implements [encoding.TextMarshaler]. It fails for a value
// outside the enumeration.
func (v Verdict) MarshalText() ([]byte, error) {
	if !v.valid() {
		return nil, errors.New("attestation: marshal " + v.String())
	}
	return []byte(verdictNames[v]), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseVerdict].
func (v *Verdict) UnmarshalText(b []byte) error {
	parsed, err := ParseVerdict(string(b))
	if err != nil {
		return err
	}
	*v = parsed
	return nil
}
