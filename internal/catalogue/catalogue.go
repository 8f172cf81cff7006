// Package catalogue holds the trusted software catalogue and appraises a
// device's measured boot against it.
//
// The operator publishes the catalogue as a JSON document: for each boot
// component, the releases whose digests are trusted (each with its version
// and security version number), a minimum security version below which
// releases are refused (rollback protection), and digests that are revoked.
// Each publication gets the next version number; appraisals name the version
// they used.
//
// [Catalogue.Appraise] gives each measured component an outcome and the
// whole boot the worst of them, in the vocabulary of RATS attestation
// results:
//
//   - affirming: the digest is a trusted release, the newest of its component
//   - warning: the digest is trusted but a release with a higher security
//     version exists (superseded)
//   - contraindicated: the digest is revoked or unknown, its security version
//     is below the minimum, the reported version or security version differs
//     from the catalogue's for that digest, a component is unknown, measured
//     twice, or a required component is missing
//
// Only contraindicated blocks certificate issuance.
package catalogue

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/hallmark-project/hallmark/attestation"
)

// Limits of a catalogue document.
const (
	MaxComponents = 256
	MaxReleases   = 1024 // trusted or revoked digests per component
	MaxNameLen    = 128
)

// Document is a catalogue as the operator publishes it.
type Document struct {
	Components []Component `json:"components"`
}

// Component is the policy for one boot component.
type Component struct {
	Name string `json:"name"`
	// MinSVN refuses releases with a lower security version number.
	MinSVN uint64 `json:"min_svn"`
	// Optional components may be absent from a boot; others must be measured.
	Optional bool      `json:"optional,omitempty"`
	Trusted  []Release `json:"trusted"`
	// Revoked lists SHA-256 digests, in hex, that are never trusted.
	Revoked []string `json:"revoked,omitempty"`
}

// Release is a trusted build of a component.
type Release struct {
	Digest  string `json:"digest"` // SHA-256, 64 hex characters
	Version string `json:"version"`
	SVN     uint64 `json:"svn"`
}

// Parse reads and checks a catalogue document. Unknown fields are errors.
func Parse(data []byte) (Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return Document{}, fmt.Errorf("catalogue: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Document{}, errors.New("catalogue: trailing data after the document")
	}
	if _, err := index(d); err != nil {
		return Document{}, err
	}
	return d, nil
}

// Catalogue is a published catalogue, indexed for appraisal. It is
// immutable and safe for concurrent use.
type Catalogue struct {
	version int64
	comps   map[string]*policy
	order   []string // component names in document order
}

type policy struct {
	Component
	trusted map[[32]byte]Release
	revoked map[[32]byte]bool
	maxSVN  uint64 // highest SVN among trusted releases
}

// New indexes a document as the given catalogue version.
func New(version int64, d Document) (*Catalogue, error) {
	comps, err := index(d)
	if err != nil {
		return nil, err
	}
	c := &Catalogue{version: version, comps: comps}
	for _, comp := range d.Components {
		c.order = append(c.order, comp.Name)
	}
	return c, nil
}

// Version returns the catalogue's version.
func (c *Catalogue) Version() int64 { return c.version }

func index(d Document) (map[string]*policy, error) {
	if len(d.Components) > MaxComponents {
		return nil, fmt.Errorf("catalogue: more than %d components", MaxComponents)
	}
	comps := make(map[string]*policy, len(d.Components))
	for i, comp := range d.Components {
		where := fmt.Sprintf("catalogue: component %d (%q)", i+1, comp.Name)
		if err := checkText(comp.Name); err != nil {
			return nil, fmt.Errorf("%s: name %w", where, err)
		}
		if comps[comp.Name] != nil {
			return nil, fmt.Errorf("%s: listed twice", where)
		}
		if len(comp.Trusted) == 0 {
			return nil, fmt.Errorf("%s: no trusted release", where)
		}
		if len(comp.Trusted) > MaxReleases || len(comp.Revoked) > MaxReleases {
			return nil, fmt.Errorf("%s: more than %d releases", where, MaxReleases)
		}
		p := &policy{Component: comp, trusted: map[[32]byte]Release{},
			revoked: map[[32]byte]bool{}}
		for _, r := range comp.Trusted {
			dg, err := parseDigest(r.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s: trusted digest %w", where, err)
			}
			if err := checkText(r.Version); err != nil {
				return nil, fmt.Errorf("%s: version %w", where, err)
			}
			if _, dup := p.trusted[dg]; dup {
				return nil, fmt.Errorf("%s: digest %s trusted twice", where, r.Digest)
			}
			p.trusted[dg] = r
			p.maxSVN = max(p.maxSVN, r.SVN)
		}
		for _, s := range comp.Revoked {
			dg, err := parseDigest(s)
			if err != nil {
				return nil, fmt.Errorf("%s: revoked digest %w", where, err)
			}
			if _, ok := p.trusted[dg]; ok {
				return nil, fmt.Errorf("%s: digest %s is both trusted and revoked", where, s)
			}
			p.revoked[dg] = true
		}
		comps[comp.Name] = p
	}
	return comps, nil
}

func parseDigest(s string) ([32]byte, error) {
	var d [32]byte
	if len(s) != 64 {
		return d, fmt.Errorf("%q must be 64 hex characters", s)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("%q is not hex", s)
	}
	return d, nil
}

func checkText(s string) error {
	if s == "" || len(s) > MaxNameLen || !utf8.ValidString(s) {
		return fmt.Errorf("must be 1 to %d bytes of UTF-8", MaxNameLen)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("must not contain control characters")
		}
	}
	return nil
}

// Measurement is one boot component as a device reports it.
type Measurement struct {
	Name    string
	Version string
	Digest  [32]byte
	SVN     uint64
}

// Reasons for a component's outcome.
const (
	ReasonTrusted          = "trusted"
	ReasonSuperseded       = "superseded"
	ReasonRevoked          = "revoked_digest"
	ReasonUnknownDigest    = "unknown_digest"
	ReasonUnknownComponent = "unknown_component"
	ReasonBelowMinimum     = "svn_below_minimum"
	ReasonMismatch         = "measurement_mismatch"
	ReasonDuplicate        = "measured_twice"
	ReasonMissing          = "missing"
)

// Outcome is the appraisal of one component.
type Outcome struct {
	Measurement
	Verdict attestation.Verdict
	Reason  string
}

// Appraisal is the appraisal of a whole boot.
type Appraisal struct {
	CatalogueVersion int64
	Verdict          attestation.Verdict
	// Outcomes has one entry per measured component in boot order, then one
	// per missing required component.
	Outcomes []Outcome
}

// Appraise judges a boot. An empty boot is contraindicated.
func (c *Catalogue) Appraise(boot []Measurement) Appraisal {
	a := Appraisal{CatalogueVersion: c.version, Verdict: attestation.Affirming}
	seen := make(map[string]bool, len(boot))
	for _, m := range boot {
		o := Outcome{Measurement: m}
		o.Verdict, o.Reason = c.judge(m, seen[m.Name])
		seen[m.Name] = true
		a.Outcomes = append(a.Outcomes, o)
	}
	for _, name := range c.order {
		if p := c.comps[name]; !seen[name] && !p.Optional {
			a.Outcomes = append(a.Outcomes, Outcome{Measurement: Measurement{Name: name},
				Verdict: attestation.Contraindicated, Reason: ReasonMissing})
		}
	}
	if len(a.Outcomes) == 0 {
		a.Verdict = attestation.Contraindicated
	}
	for _, o := range a.Outcomes {
		a.Verdict = max(a.Verdict, o.Verdict)
	}
	return a
}

func (c *Catalogue) judge(m Measurement, twice bool) (attestation.Verdict, string) {
	p := c.comps[m.Name]
	switch {
	case twice:
		return attestation.Contraindicated, ReasonDuplicate
	case p == nil:
		return attestation.Contraindicated, ReasonUnknownComponent
	case p.revoked[m.Digest]:
		return attestation.Contraindicated, ReasonRevoked
	}
	r, ok := p.trusted[m.Digest]
	switch {
	case !ok:
		return attestation.Contraindicated, ReasonUnknownDigest
	case r.Version != m.Version || r.SVN != m.SVN:
		return attestation.Contraindicated, ReasonMismatch
	case r.SVN < p.MinSVN:
		return attestation.Contraindicated, ReasonBelowMinimum
	case r.SVN < p.maxSVN:
		return attestation.Warning, ReasonSuperseded
	}
	return attestation.Affirming, ReasonTrusted
}
