package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testCredentials attests once to a fake DAA.
func testCredentials(t *testing.T) *Credentials {
	t.Helper()
	d := newDAA(t)
	rot, boot := testDevice(t)
	creds, err := newClient(t, d).Attest(context.Background(), rot, boot)
	if err != nil {
		t.Fatal(err)
	}
	return creds
}

var credFiles = []string{KeyFile, CertFile, ChainFile, FullChainFile}

// readSet reads the four files of a credentials directory.
func readSet(t *testing.T, dir string) map[string]string {
	t.Helper()
	set := map[string]string{}
	for _, name := range credFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		set[name] = string(b)
	}
	return set
}

// entries lists the names in dir that start with prefix.
func entries(t *testing.T, dir, prefix string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		if strings.HasPrefix(de.Name(), prefix) {
			names = append(names, de.Name())
		}
	}
	return names
}

func TestWriteCredentials(t *testing.T) {
	creds := testCredentials(t)
	dir := filepath.Join(t.TempDir(), "creds")
	if err := WriteCredentials(dir, creds); err != nil {
		t.Fatal(err)
	}
	checkMode(t, dir, 0o700)
	checkMode(t, filepath.Join(dir, KeyFile), 0o600)
	for _, name := range []string{CertFile, ChainFile, FullChainFile} {
		checkMode(t, filepath.Join(dir, name), 0o644)
	}

	set := readSet(t, dir)
	cert := pemText("CERTIFICATE", creds.Certificate.Raw)
	chain := pemText("CERTIFICATE", creds.Chain[0].Raw) +
		pemText("CERTIFICATE", creds.Chain[1].Raw)
	want := map[string]string{CertFile: cert, ChainFile: chain, FullChainFile: cert + chain}
	key, err := parseKey([]byte(set[KeyFile]))
	if err != nil {
		t.Fatal(err)
	}
	if !key.Equal(creds.Key) {
		t.Error("key.pem does not hold the credentials' key")
	}
	delete(set, KeyFile)
	if diff := cmp.Diff(want, set); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, FullChainFile),
		filepath.Join(dir, KeyFile)); err != nil {
		t.Errorf("crypto/tls cannot load the set: %v", err)
	}
}

func TestWriteCredentialsReplaces(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCredentials(dir, testCredentials(t)); err != nil {
		t.Fatal(err)
	}
	second := testCredentials(t)
	if err := WriteCredentials(dir, second); err != nil {
		t.Fatal(err)
	}
	if got := readSet(t, dir)[CertFile]; got != pemText("CERTIFICATE", second.Certificate.Raw) {
		t.Error("cert.pem is not the second certificate")
	}
	if gens := entries(t, dir, genPrefix); len(gens) != 1 {
		t.Errorf("generations left: %q, want only the live one", gens)
	}
}

// TestWriteCredentialsReplacesFiles starts from a directory of plain files,
// as another tool may have left, and replaces them.
func TestWriteCredentialsReplacesFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range credFiles {
		writeFile(t, filepath.Join(dir, name), "old "+name, 0o600)
	}
	creds := testCredentials(t)
	if err := WriteCredentials(dir, creds); err != nil {
		t.Fatal(err)
	}
	if got := readSet(t, dir)[CertFile]; got != pemText("CERTIFICATE", creds.Certificate.Raw) {
		t.Error("cert.pem was not replaced")
	}
}

// TestWriteCredentialsFailedCommit makes the rename that commits a new set
// fail, and checks that the old set is intact and nothing is left over.
func TestWriteCredentialsFailedCommit(t *testing.T) {
	dir := t.TempDir()
	if err := WriteCredentials(dir, testCredentials(t)); err != nil {
		t.Fatal(err)
	}
	before := readSet(t, dir)
	beforeGens := entries(t, dir, genPrefix)
	failRenames(t)

	err := WriteCredentials(dir, testCredentials(t))
	if err == nil || !strings.Contains(err.Error(), "rename refused by the test") {
		t.Fatalf("WriteCredentials: %v, want the rename failure", err)
	}
	if diff := cmp.Diff(before, readSet(t, dir)); diff != "" {
		t.Errorf("the old set changed (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(beforeGens, entries(t, dir, genPrefix)); diff != "" {
		t.Errorf("generations (-before +after):\n%s", diff)
	}
	if tmp := entries(t, dir, liveLink+".tmp-"); len(tmp) > 0 {
		t.Errorf("temporary links left: %q", tmp)
	}
}

func TestWriteCredentialsFailedFirstCommit(t *testing.T) {
	dir := t.TempDir()
	failRenames(t)
	if err := WriteCredentials(dir, testCredentials(t)); err == nil {
		t.Fatal("WriteCredentials succeeded")
	}
	if left := entries(t, dir, ""); len(left) > 0 {
		t.Errorf("a failed first write left %q", left)
	}
}

// failRenames makes every rename of WriteCredentials fail until the test
// ends. Tests that call it must not run in parallel.
func failRenames(t *testing.T) {
	renameForTest = func(string, string) error {
		return errors.New("rename refused by the test")
	}
	t.Cleanup(func() { renameForTest = nil })
}

func TestWriteCredentialsErrors(t *testing.T) {
	creds := testCredentials(t)
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, "x", 0o600)
	noKey := *creds
	noKey.Key = nil
	noChain := *creds
	noChain.Chain = nil
	for _, tc := range []struct {
		name  string
		dir   string
		creds *Credentials
	}{
		{"nil credentials", t.TempDir(), nil},
		{"no key", t.TempDir(), &noKey},
		{"no chain", t.TempDir(), &noChain},
		{"directory is a file", file, creds},
		{"under a file", filepath.Join(file, "creds"), creds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := WriteCredentials(tc.dir, tc.creds); err == nil {
				t.Error("WriteCredentials succeeded")
			}
		})
	}
	if b := readFile(t, file); !bytes.Equal(b, []byte("x")) {
		t.Error("a failed write changed a file")
	}
}
