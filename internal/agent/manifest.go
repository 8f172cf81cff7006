package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"unicode"

	"github.com/hallmark-project/hallmark/internal/evidence"
)

// maxManifest bounds the size of a boot manifest.
const maxManifest = 1 << 20

// manifestJSON is the boot manifest's format. Pointers tell a field that is
// absent from one that is empty or zero.
type manifestJSON struct {
	Components []componentJSON `json:"components"`
}

type componentJSON struct {
	Name    string  `json:"name"`
	Version string  `json:"version"`
	SVN     *uint64 `json:"svn"`
	Digest  *string `json:"digest"`
	File    *string `json:"file"`
}

// LoadManifest reads the boot manifest at path and returns the measured
// components in its order. It is strict: an unknown field, a missing name,
// version or svn, a component with both or neither of digest and file, a
// digest that is not 64 hex characters, a duplicate name and more than
// [evidence.MaxComponents] components are errors. A file component is
// measured now, its path taken relative to the manifest's folder.
func LoadManifest(path string) ([]evidence.Component, error) {
	data, err := readManifest(path)
	if err != nil {
		return nil, fmt.Errorf("agent: manifest: %w", err)
	}
	comps, err := parseManifest(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("agent: manifest %s: %w", path, err)
	}
	return comps, nil
}

func readManifest(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxManifest {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxManifest)
	}
	return data, nil
}

// parseManifest decodes and checks a manifest, then measures its file
// components relative to dir.
func parseManifest(data []byte, dir string) ([]evidence.Component, error) {
	m, err := decodeManifest(data)
	if err != nil {
		return nil, err
	}
	comps := make([]evidence.Component, len(m.Components))
	for i, c := range m.Components {
		comps[i] = evidence.Component{Name: c.Name, Version: c.Version, SVN: *c.SVN}
		if c.Digest != nil {
			if _, err := hex.Decode(comps[i].Digest[:], []byte(*c.Digest)); err != nil {
				return nil, fmt.Errorf("components[%d] (%q): digest: %w", i, c.Name, err)
			}
			continue
		}
		file := *c.File
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		if comps[i].Digest, err = measure(file); err != nil {
			return nil, fmt.Errorf("components[%d] (%q): measure: %w", i, c.Name, err)
		}
	}
	return comps, nil
}

// decodeManifest decodes a manifest and checks everything but its files.
func decodeManifest(data []byte) (*manifestJSON, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m manifestJSON
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}

	if n := len(m.Components); n == 0 || n > evidence.MaxComponents {
		return nil, fmt.Errorf("components must list 1 to %d entries, got %d",
			evidence.MaxComponents, n)
	}
	seen := make(map[string]bool, len(m.Components))
	for i, c := range m.Components {
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("components[%d]: %w", i, err)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("components[%d]: duplicate name %q", i, c.Name)
		}
		seen[c.Name] = true
	}
	return &m, nil
}

func (c *componentJSON) check() error {
	if err := checkText(c.Name); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if err := checkText(c.Version); err != nil {
		return fmt.Errorf("%q: version: %w", c.Name, err)
	}
	if c.SVN == nil {
		return fmt.Errorf("%q: no svn", c.Name)
	}
	switch {
	case c.Digest != nil && c.File != nil:
		return fmt.Errorf("%q: give digest or file, not both", c.Name)
	case c.Digest != nil:
		if len(*c.Digest) != 2*sha256.Size {
			return fmt.Errorf("%q: digest must be %d hex characters, got %d",
				c.Name, 2*sha256.Size, len(*c.Digest))
		}
		if _, err := hex.DecodeString(*c.Digest); err != nil {
			return fmt.Errorf("%q: digest is not hexadecimal", c.Name)
		}
	case c.File != nil:
		if *c.File == "" {
			return fmt.Errorf("%q: file is empty", c.Name)
		}
	default:
		return fmt.Errorf("%q: give a digest or a file", c.Name)
	}
	return nil
}

// checkText checks a component name or version as package evidence will.
func checkText(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	if len(s) > evidence.MaxTextLen {
		return fmt.Errorf("%d bytes, more than %d", len(s), evidence.MaxTextLen)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("control character %U", r)
		}
	}
	return nil
}

// measure returns the SHA-256 of the regular file at path.
func measure(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return [32]byte{}, err
	}
	if !fi.Mode().IsRegular() {
		return [32]byte{}, fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(h.Sum(nil)), nil
}
