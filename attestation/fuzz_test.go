package attestation_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/hallmark-project/hallmark/attestation"
)

// FuzzParse checks that Parse never panics, that every error is a
// *ParseError, and that whatever Parse accepts, Marshal writes back byte for
// byte.
func FuzzParse(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "result.der"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(golden[:len(golden)-1])
	f.Add(append(bytes.Clone(golden), 0))
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x00})
	f.Add([]byte{0x30, 0x80, 0x00, 0x00})
	empty := fixtureResult()
	empty.Components = nil
	if der, err := empty.Marshal(); err == nil {
		f.Add(der)
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := attestation.Parse(in)
		if err != nil {
			var pe *attestation.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error %T %q is not a *ParseError", err, err)
			}
			return
		}
		out, err := r.Marshal()
		if err != nil {
			t.Fatalf("Parse accepted %x but Marshal refuses the result: %v", in, err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("Marshal(Parse(x)) != x:\n   x %x\n got %x", in, out)
		}
	})
}
