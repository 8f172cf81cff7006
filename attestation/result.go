package attestation

import (
	"bytes"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// Version is the version of the AttestationResult format that this package
// writes and reads.
const Version = 1

// Limits on an encoded result.
const (
	MaxSize       = 64 << 10 // bytes of DER
	MaxComponents = 256
)

// Result is the outcome of one appraisal of a device's evidence.
type Result struct {
	Verdict          Verdict   // the device's overall verdict
	AppraisedAt      time.Time // encoded in UTC, rounded down to whole seconds
	EvidenceDigest   [32]byte  // SHA-256 of the evidence; must not be all zeros
	CatalogueVersion int64     // version of the trusted software catalogue; >= 0

	// Components are in the order the device reported them; at most
	// MaxComponents. Parse returns nil for an empty list.
	Components []Component
}

// Component is one measured boot component as the device reported it, with
// the verdict the catalogue gave it.
type Component struct {
	Name    string   // not empty
	Version string   // may be empty
	Digest  [32]byte // SHA-256 of the component
	Verdict Verdict
}

// resultASN1 and componentASN1 mirror the ASN.1 module in the package doc.
type resultASN1 struct {
	Version          int64
	Verdict          asn1.Enumerated
	AppraisedAt      time.Time `asn1:"generalized"`
	EvidenceDigest   []byte
	CatalogueVersion int64
	Components       []componentASN1
}

type componentASN1 struct {
	Name    string `asn1:"utf8"`
	Version string `asn1:"utf8"`
	Digest  []byte
	Verdict asn1.Enumerated
}

// Marshal checks r and returns its DER encoding.
func (r Result) Marshal() ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, fmt.Errorf("attestation: marshal result: %w", err)
	}
	der, err := r.marshal()
	if err != nil {
		return nil, fmt.Errorf("attestation: marshal result: %w", err)
	}
	if len(der) > MaxSize {
		return nil, fmt.Errorf("attestation: marshal result: %d bytes, more than %d",
			len(der), MaxSize)
	}
	return der, nil
}

// marshal encodes r, which validate has accepted.
func (r Result) marshal() ([]byte, error) {
	w := resultASN1{
		Version:          Version,
		Verdict:          asn1.Enumerated(r.Verdict),
		AppraisedAt:      r.AppraisedAt.UTC().Truncate(time.Second),
		EvidenceDigest:   r.EvidenceDigest[:],
		CatalogueVersion: r.CatalogueVersion,
		Components:       make([]componentASN1, len(r.Components)),
	}
	for i, c := range r.Components {
		w.Components[i] = componentASN1{
			Name:    c.Name,
			Version: c.Version,
			Digest:  c.Digest[:],
			Verdict: asn1.Enumerated(c.Verdict),
		}
	}
	return asn1.Marshal(w)
}

// validate checks the rules of the format that the types do not enforce.
func (r Result) validate() error {
	if !r.Verdict.valid() {
		return fmt.Errorf("%v out of range", r.Verdict)
	}
	if r.AppraisedAt.IsZero() {
		return errors.New("appraisal time is zero")
	}
	if y := r.AppraisedAt.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("appraisal year %d is not four digits", y)
	}
	if r.EvidenceDigest == ([32]byte{}) {
		return errors.New("evidence digest is all zeros")
	}
	if r.CatalogueVersion < 0 {
		return fmt.Errorf("catalogue version %d is negative", r.CatalogueVersion)
	}

	if len(r.Components) > MaxComponents {
		return fmt.Errorf("%d components, more than %d", len(r.Components), MaxComponents)
	}
	for i, c := range r.Components {
		if err := c.validate(); err != nil {
			return fmt.Errorf("component %d: %w", i, err)
		}
	}
	return nil
}

func (c Component) validate() error {
	if c.Name == "" {
		return errors.New("name is empty")
	}
	if err := checkText(c.Name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if err := checkText(c.Version); err != nil {
		return fmt.Errorf("version: %w", err)
	}
	if !c.Verdict.valid() {
		return fmt.Errorf("%v out of range", c.Verdict)
	}
	return nil
}

// checkText refuses strings that would garble a log line or a terminal.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// Parse decodes a DER-encoded AttestationResult, such as the value of the
// extension, and checks it against the format. Any error is a [*ParseError].
func Parse(der []byte) (Result, error) {
	fail := func(err error) (Result, error) { return Result{}, &ParseError{Err: err} }
	if len(der) == 0 {
		return fail(errors.New("empty input"))
	}
	if len(der) > MaxSize {
		return fail(fmt.Errorf("%d bytes, more than %d", len(der), MaxSize))
	}

	var w resultASN1
	rest, err := asn1.Unmarshal(der, &w)
	if err != nil {
		return fail(fmt.Errorf("malformed DER: %w", err))
	}
	if len(rest) > 0 {
		return fail(fmt.Errorf("%d bytes of trailing data", len(rest)))
	}

	r, err := fromASN1(w)
	if err != nil {
		return fail(err)
	}
	if err := r.validate(); err != nil {
		return fail(err)
	}

	// encoding/asn1 accepts some BER forms and ignores extra fields at the
	// end of a SEQUENCE; encoding the result again and comparing catches both.
	again, err := r.marshal()
	if err != nil {
		return fail(err)
	}
	if !bytes.Equal(again, der) {
		return fail(errors.New("not in DER form, or fields beyond the format"))
	}
	return r, nil
}

// fromASN1 converts the decoded structure, checking what the Go types cannot
// hold.
func fromASN1(w resultASN1) (Result, error) {
	if w.Version != Version {
		return Result{}, fmt.Errorf("version %d: %w", w.Version, ErrUnsupportedVersion)
	}
	r := Result{
		Verdict:          Verdict(w.Verdict),
		AppraisedAt:      w.AppraisedAt.UTC(),
		CatalogueVersion: w.CatalogueVersion,
	}
	if err := copyDigest(&r.EvidenceDigest, w.EvidenceDigest); err != nil {
		return Result{}, fmt.Errorf("evidence digest: %w", err)
	}

	for i, wc := range w.Components {
		c := Component{Name: wc.Name, Version: wc.Version, Verdict: Verdict(wc.Verdict)}
		if err := copyDigest(&c.Digest, wc.Digest); err != nil {
			return Result{}, fmt.Errorf("component %d: digest: %w", i, err)
		}
		r.Components = append(r.Components, c)
	}
	return r, nil
}

func copyDigest(dst *[32]byte, src []byte) error {
	if len(src) != len(dst) {
		return fmt.Errorf("%d bytes, want %d", len(src), len(dst))
	}
	copy(dst[:], src)
	return nil
}
