package attestation_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/attestation"
)

// tlv encodes one DER element with the given identifier octet.
func tlv(tag byte, content ...[]byte) []byte {
	body := bytes.Join(content, nil)
	n := len(body)
	var length []byte
	switch {
	case n < 0x80:
		length = []byte{byte(n)}
	case n <= 0xff:
		length = []byte{0x81, byte(n)}
	default:
		length = []byte{0x82, byte(n >> 8), byte(n)}
	}
	return append(append([]byte{tag}, length...), body...)
}

// DER identifier octets used below.
const (
	tagInteger    = 0x02
	tagOctets     = 0x04
	tagNull       = 0x05
	tagEnumerated = 0x0a
	tagUTF8       = 0x0c
	tagPrintable  = 0x13
	tagUTCTime    = 0x17
	tagGenTime    = 0x18
	tagSequence   = 0x30
	tagSet        = 0x31
)

// wire holds the encoded fields of an AttestationResult, so that a test can
// replace one of them.
type wire struct {
	version, verdict, appraisedAt, evidenceDigest, catalogueVersion, components []byte
	extra                                                                       []byte
}

func (w wire) encode() []byte {
	return tlv(tagSequence, w.version, w.verdict, w.appraisedAt, w.evidenceDigest,
		w.catalogueVersion, w.components, w.extra)
}

// component encodes a Component from its encoded fields.
func component(fields ...[]byte) []byte { return tlv(tagSequence, fields...) }

func digest(n int, b byte) []byte { return tlv(tagOctets, bytes.Repeat([]byte{b}, n)) }

// baseWire is fixtureResult written out by hand.
func baseWire() wire {
	r := fixtureResult()
	var comps [][]byte
	for _, c := range r.Components {
		comps = append(comps, component(tlv(tagUTF8, []byte(c.Name)),
			tlv(tagUTF8, []byte(c.Version)), tlv(tagOctets, c.Digest[:]),
			tlv(tagEnumerated, []byte{byte(c.Verdict)})))
	}
	return wire{
		version:          tlv(tagInteger, []byte{1}),
		verdict:          tlv(tagEnumerated, []byte{1}),
		appraisedAt:      tlv(tagGenTime, []byte("20250314093000Z")),
		evidenceDigest:   tlv(tagOctets, r.EvidenceDigest[:]),
		catalogueVersion: tlv(tagInteger, []byte{42}),
		components:       tlv(tagSequence, comps...),
	}
}

// withComponent returns baseWire with its first component replaced.
func withComponent(name, version, dig, verdict []byte) []byte {
	w := baseWire()
	w.components = tlv(tagSequence, component(name, version, dig, verdict))
	return w.encode()
}

func TestBaseWireIsFixture(t *testing.T) {
	want, err := fixtureResult().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if got := baseWire().encode(); !bytes.Equal(got, want) {
		t.Fatalf("hand-built encoding differs from Marshal:\n got %x\nwant %x", got, want)
	}
}

func TestParseMalformed(t *testing.T) {
	base := baseWire().encode()
	content := base[2+int(base[1]&0x7f):] // base's length is in long form
	if len(content) > 0xff {
		t.Fatalf("base encoding is %d bytes; the length cases below assume under 256",
			len(content))
	}
	mod := func(f func(w *wire)) []byte {
		w := baseWire()
		f(&w)
		return w.encode()
	}
	name := tlv(tagUTF8, []byte("boot"))
	version := tlv(tagUTF8, []byte("1.0"))
	dig := digest(32, 7)
	affirming := tlv(tagEnumerated, []byte{0})

	tests := []struct {
		name string
		in   []byte
		want string // part of the error message
		is   error  // if not nil, errors.Is must match it
	}{
		{"empty", nil, "empty input", nil},
		{"truncated", base[:len(base)-1], "asn1", nil},
		{"only the header", base[:3], "asn1", nil},
		{"trailing zero byte", append(bytes.Clone(base), 0), "1 bytes of trailing data", nil},
		{"two results", append(bytes.Clone(base), base...), "trailing data", nil},
		{"larger than MaxSize", append(bytes.Clone(base),
			make([]byte, attestation.MaxSize)...), "more than 65536", nil},
		{"not a SEQUENCE", tlv(tagSet, content), "asn1", nil},
		{"indefinite length", append(append([]byte{tagSequence, 0x80}, content...), 0, 0),
			"asn1", nil},
		{"outer length with a leading zero", append([]byte{tagSequence, 0x82, 0x00,
			byte(len(content))}, content...), "asn1", nil},
		{"version length non-minimal", mod(func(w *wire) {
			w.version = []byte{tagInteger, 0x81, 0x01, 0x01}
		}), "asn1", nil},
		{"version 2", mod(func(w *wire) { w.version = tlv(tagInteger, []byte{2}) }),
			"version 2", attestation.ErrUnsupportedVersion},
		{"version 0", mod(func(w *wire) { w.version = tlv(tagInteger, []byte{0}) }),
			"version 0", attestation.ErrUnsupportedVersion},
		{"version padded", mod(func(w *wire) { w.version = tlv(tagInteger, []byte{0, 1}) }),
			"asn1", nil},
		{"version missing", mod(func(w *wire) { w.version = nil }), "asn1", nil},
		{"verdict 3", mod(func(w *wire) { w.verdict = tlv(tagEnumerated, []byte{3}) }),
			"verdict(3) out of range", nil},
		{"verdict -1", mod(func(w *wire) { w.verdict = tlv(tagEnumerated, []byte{0xff}) }),
			"verdict(-1) out of range", nil},
		{"verdict as INTEGER", mod(func(w *wire) { w.verdict = tlv(tagInteger, []byte{1}) }),
			"asn1", nil},
		{"time with offset", mod(func(w *wire) {
			w.appraisedAt = tlv(tagGenTime, []byte("20250314103000+0100"))
		}), "not in DER form", nil},
		{"time with fraction", mod(func(w *wire) {
			w.appraisedAt = tlv(tagGenTime, []byte("20250314093000.5Z"))
		}), "not in DER form", nil},
		{"time without zone", mod(func(w *wire) {
			w.appraisedAt = tlv(tagGenTime, []byte("20250314093000"))
		}), "parsing time", nil},
		{"time as UTCTime", mod(func(w *wire) {
			w.appraisedAt = tlv(tagUTCTime, []byte("250314093000Z"))
		}), "not in DER form", nil},
		{"zero time", mod(func(w *wire) {
			w.appraisedAt = tlv(tagGenTime, []byte("00010101000000Z"))
		}), "appraisal time is zero", nil},
		{"evidence digest 31 bytes", mod(func(w *wire) { w.evidenceDigest = digest(31, 1) }),
			"evidence digest: 31 bytes, want 32", nil},
		{"evidence digest 33 bytes", mod(func(w *wire) { w.evidenceDigest = digest(33, 1) }),
			"evidence digest: 33 bytes, want 32", nil},
		{"evidence digest all zeros", mod(func(w *wire) { w.evidenceDigest = digest(32, 0) }),
			"evidence digest is all zeros", nil},
		{"catalogue version negative", mod(func(w *wire) {
			w.catalogueVersion = tlv(tagInteger, []byte{0xff})
		}), "catalogue version -1 is negative", nil},
		{"catalogue version over 63 bits", mod(func(w *wire) {
			w.catalogueVersion = tlv(tagInteger, []byte{1, 0, 0, 0, 0, 0, 0, 0, 0})
		}), "asn1", nil},
		{"components missing", mod(func(w *wire) { w.components = nil }), "asn1", nil},
		{"components not a sequence", mod(func(w *wire) {
			w.components = tlv(tagOctets, []byte("boot"))
		}), "asn1", nil},
		{"components as SET", mod(func(w *wire) { w.components[0] = tagSet }), "asn1", nil},
		{"component not a sequence", mod(func(w *wire) {
			w.components = tlv(tagSequence, tlv(tagUTF8, []byte("boot")))
		}), "asn1", nil},
		{"257 components", mod(func(w *wire) {
			c := component(name, version, dig, affirming)
			w.components = tlv(tagSequence, bytes.Repeat(c, attestation.MaxComponents+1))
		}), "257 components, more than 256", nil},
		{"field after components", mod(func(w *wire) { w.extra = tlv(tagNull) }),
			"fields beyond the format", nil},
		{"field after component verdict",
			withComponent(name, version, dig, append(bytes.Clone(affirming), tlv(tagNull)...)),
			"fields beyond the format", nil},
		{"component digest 31 bytes", withComponent(name, version, digest(31, 7), affirming),
			"component 0: digest: 31 bytes, want 32", nil},
		{"component digest missing", withComponent(name, version, nil, affirming),
			"asn1", nil},
		{"component verdict 3",
			withComponent(name, version, dig, tlv(tagEnumerated, []byte{3})),
			"component 0: verdict(3) out of range", nil},
		{"name invalid UTF-8",
			withComponent(tlv(tagUTF8, []byte{'b', 0xff}), version, dig, affirming),
			"UTF-8", nil},
		{"version invalid UTF-8",
			withComponent(name, tlv(tagUTF8, []byte{0xc3}), dig, affirming), "UTF-8", nil},
		{"name as PrintableString",
			withComponent(tlv(tagPrintable, []byte("boot")), version, dig, affirming),
			"not in DER form", nil},
		{"name empty", withComponent(tlv(tagUTF8), version, dig, affirming),
			"component 0: name is empty", nil},
		{"name with escape character",
			withComponent(tlv(tagUTF8, []byte("\x1b[31mboot")), version, dig, affirming),
			"component 0: name: control character U+001B", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := attestation.Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want error", r)
			}
			var pe *attestation.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %T %q is not a *ParseError", err, err)
			}
			if !strings.HasPrefix(err.Error(), "attestation: invalid result: ") ||
				!strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Parse error = %q, want errors.Is %v", err, tt.is)
			}
		})
	}
}
