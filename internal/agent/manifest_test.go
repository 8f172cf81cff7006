package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/evidence"
)

const loaderDigest = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"

func TestLoadManifest(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "kernel.img"), "kernel v6", 0o644)
	abs := filepath.Join(t.TempDir(), "app.bin")
	writeFile(t, abs, "app v3", 0o644)
	path := filepath.Join(dir, "boot.json")
	writeFile(t, path, `{"components": [
		{"name": "loader", "version": "1.1", "svn": 2, "digest": "`+loaderDigest+`"},
		{"name": "kernel", "version": "6.1", "svn": 7, "file": "kernel.img"},
		{"name": "app", "version": "3", "svn": 0, "file": "`+abs+`"}
	]}`, 0o644)

	got, err := LoadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	var loader [32]byte
	if _, err := hex.Decode(loader[:], []byte(loaderDigest)); err != nil {
		t.Fatal(err)
	}
	want := []evidence.Component{
		{Name: "loader", Version: "1.1", SVN: 2, Digest: loader},
		{Name: "kernel", Version: "6.1", SVN: 7, Digest: sha256.Sum256([]byte("kernel v6"))},
		{Name: "app", Version: "3", SVN: 0, Digest: sha256.Sum256([]byte("app v3"))},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadManifest (-want +got):\n%s", diff)
	}

	// A tampered file is measured again on the next read.
	writeFile(t, filepath.Join(dir, "kernel.img"), "kernel v6 with a backdoor", 0o644)
	again, err := LoadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if again[1].Digest == want[1].Digest {
		t.Error("the tampered kernel kept its digest")
	}
}

// TestLoadManifestDefects feeds manifests that are wrong in one way each.
func TestLoadManifestDefects(t *testing.T) {
	comp := func(fields string) string { return `{"components": [` + fields + `]}` }
	d := `"digest": "` + loaderDigest + `"`
	many := make([]string, evidence.MaxComponents+1)
	for i := range many {
		many[i] = fmt.Sprintf(`{"name": "c%d", "version": "1", "svn": 1, %s}`, i, d)
	}
	for _, tc := range []struct {
		name, data, want string
	}{
		{"not json", `components`, "decode JSON"},
		{"empty file", ``, "decode JSON"},
		{"array", `[]`, "decode JSON"},
		{"unknown field", `{"components": [], "extra": 1}`, "unknown field"},
		{"unknown component field",
			comp(`{"name": "a", "version": "1", "svn": 1, "sha": "x", ` + d + `}`),
			"unknown field"},
		{"trailing data", comp(`{"name": "a", "version": "1", "svn": 1, `+d+`}`) + `{}`,
			"after the JSON"},
		{"no components", `{}`, "1 to 64 entries, got 0"},
		{"empty components", comp(``), "1 to 64 entries, got 0"},
		{"too many components", comp(strings.Join(many, ",")), "got 65"},
		{"no name", comp(`{"version": "1", "svn": 1, ` + d + `}`), "name: empty"},
		{"long name", comp(`{"name": "` + strings.Repeat("n", 129) + `", "version": "1", ` +
			`"svn": 1, ` + d + `}`), "more than 128"},
		{"control character", comp(`{"name": "a\u0007", "version": "1", "svn": 1, ` + d + `}`),
			"control character"},
		{"no version", comp(`{"name": "a", "svn": 1, ` + d + `}`), "version: empty"},
		{"no svn", comp(`{"name": "a", "version": "1", ` + d + `}`), "no svn"},
		{"negative svn", comp(`{"name": "a", "version": "1", "svn": -1, ` + d + `}`),
			"decode JSON"},
		{"svn string", comp(`{"name": "a", "version": "1", "svn": "1", ` + d + `}`),
			"decode JSON"},
		{"digest and file",
			comp(`{"name": "a", "version": "1", "svn": 1, "file": "a.img", ` + d + `}`),
			"not both"},
		{"neither digest nor file", comp(`{"name": "a", "version": "1", "svn": 1}`),
			"give a digest or a file"},
		{"short digest", comp(`{"name": "a", "version": "1", "svn": 1, "digest": "abcd"}`),
			"64 hex characters, got 4"},
		{"digest not hex", comp(`{"name": "a", "version": "1", "svn": 1, "digest": "` +
			strings.Repeat("zz", 32) + `"}`), "not hexadecimal"},
		{"empty file name", comp(`{"name": "a", "version": "1", "svn": 1, "file": ""}`),
			"file is empty"},
		{"duplicate name", comp(`{"name": "a", "version": "1", "svn": 1, ` + d + `},` +
			`{"name": "a", "version": "2", "svn": 1, ` + d + `}`), "duplicate name"},
		{"missing file", comp(`{"name": "a", "version": "1", "svn": 1, "file": "absent"}`),
			"no such file"},
		{"file is a directory", comp(`{"name": "a", "version": "1", "svn": 1, "file": "."}`),
			"not a regular file"},
		{"too large", comp(strings.Repeat(" ", maxManifest)), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "boot.json")
			writeFile(t, path, tc.data, 0o644)
			_, err := LoadManifest(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadManifest: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestLoadManifestMissing(t *testing.T) {
	_, err := LoadManifest(filepath.Join(t.TempDir(), "absent.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadManifest: %v, want a missing file error", err)
	}
}

func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"components": [{"name": "a", "version": "1", "svn": 1, "digest": "` +
		loaderDigest + `"}]}`))
	f.Add([]byte(`{"components": [{"name": "a", "version": "1", "svn": 1, "file": "x"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeManifest(data)
		if err != nil {
			return
		}
		for _, c := range m.Components {
			if c.SVN == nil || (c.Digest == nil) == (c.File == nil) {
				t.Errorf("decodeManifest accepted %+v", c)
			}
		}
	})
}
