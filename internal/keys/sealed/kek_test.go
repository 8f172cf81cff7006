package sealed

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testKEKBytes is a test key-encryption key with no zero or newline byte.
var testKEKBytes = func() []byte {
	k := make([]byte, KEKSize)
	for i := range k {
		k[i] = byte(0x20 + i)
	}
	return k
}()

func writeFile(t *testing.T, content []byte, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadKEKAccepts(t *testing.T) {
	hexKEK := hex.EncodeToString(testKEKBytes)
	b64KEK := base64.StdEncoding.EncodeToString(testKEKBytes)
	rawWithNewline := bytes.Clone(testKEKBytes)
	rawWithNewline[KEKSize-1] = '\n'

	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    []byte
	}{
		{"raw", testKEKBytes, 0o600, testKEKBytes},
		{"raw ending in newline byte", rawWithNewline, 0o600, rawWithNewline},
		{"hex", []byte(hexKEK), 0o600, testKEKBytes},
		{"hex newline", []byte(hexKEK + "\n"), 0o600, testKEKBytes},
		{"hex CRLF", []byte(hexKEK + "\r\n"), 0o600, testKEKBytes},
		{"upper hex", []byte(strings.ToUpper(hexKEK) + "\n"), 0o600, testKEKBytes},
		{"base64", []byte(b64KEK), 0o600, testKEKBytes},
		{"base64 newline", []byte(b64KEK + "\n"), 0o600, testKEKBytes},
		{"owner read only", []byte(hexKEK), 0o400, testKEKBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadKEK(writeFile(t, tt.content, tt.mode))
			if err != nil {
				t.Fatalf("LoadKEK: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("LoadKEK (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadKEKRefuses(t *testing.T) {
	hexKEK := hex.EncodeToString(testKEKBytes)
	tests := []struct {
		name    string
		content []byte
		mode    os.FileMode
		wantIn  string // part of the error message
	}{
		{"mode 0644", []byte(hexKEK), 0o644, "chmod 600"},
		{"mode 0640", []byte(hexKEK), 0o640, "chmod 600"},
		{"mode 0604", []byte(hexKEK), 0o604, "chmod 600"},
		{"mode 0620", []byte(hexKEK), 0o620, "chmod 600"},
		{"empty", nil, 0o600, "empty"},
		{"only newline", []byte("\n"), 0o600, "empty"},
		{"31 raw bytes", testKEKBytes[:31], 0o600, "neither"},
		{"33 raw bytes", append(bytes.Clone(testKEKBytes), 'x'), 0o600, "neither"},
		{"short hex", []byte(hexKEK[:62]), 0o600, "neither"},
		{"long hex", []byte(hexKEK + "00"), 0o600, "neither"},
		{"bad hex digit", []byte("zz" + hexKEK[2:]), 0o600, "not hex"},
		{"base64 of 31 bytes", []byte(base64.StdEncoding.EncodeToString(testKEKBytes[:31])),
			0o600, "base64 of 31 bytes"},
		{"base64 of 33 bytes", []byte(base64.StdEncoding.EncodeToString(
			append(bytes.Clone(testKEKBytes), 1))), 0o600, "base64 of 33 bytes"},
		{"url base64", []byte(base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 32))),
			0o600, "neither"},
		{"newline inside hex", []byte(hexKEK[:32] + "\n" + hexKEK[32:]), 0o600, "48 bytes"},
		{"too large", bytes.Repeat([]byte("a"), maxKEKFile+1), 0o600, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.content, tt.mode)
			kek, err := LoadKEK(path)
			if err == nil {
				t.Fatalf("LoadKEK = %x, want error", kek)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Fatalf("LoadKEK error %q does not mention %q", err, tt.wantIn)
			}
			if strings.Contains(err.Error(), hexKEK[:16]) {
				t.Fatalf("LoadKEK error %q quotes the key", err)
			}
		})
	}
}

func TestLoadKEKNotAFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
	}{
		{"missing", filepath.Join(dir, "missing")},
		{"directory", dir},
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if kek, err := LoadKEK(tt.path); err == nil {
				t.Fatalf("LoadKEK = %x, want error", kek)
			}
		})
	}
}

func TestParseKEK(t *testing.T) {
	hexKEK := hex.EncodeToString(testKEKBytes)
	b64KEK := base64.StdEncoding.EncodeToString(testKEKBytes)
	tests := []struct {
		name    string
		in      string
		want    []byte
		wantErr bool
	}{
		{"hex", hexKEK, testKEKBytes, false},
		{"hex with spaces", "  " + hexKEK + "\n", testKEKBytes, false},
		{"base64", b64KEK, testKEKBytes, false},
		{"empty", "", nil, true},
		{"raw bytes", string(testKEKBytes), nil, true},
		{"short hex", hexKEK[:62], nil, true},
		{"bad hex", "g" + hexKEK[1:], nil, true},
		{"unpadded base64", strings.TrimRight(b64KEK, "="), nil, true},
		{"base64 of 16 bytes", base64.StdEncoding.EncodeToString(testKEKBytes[:16]), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKEK(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseKEK error = %v, want error: %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("ParseKEK (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGenerateKEKFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	path := filepath.Join(dir, "kek")
	if err := GenerateKEKFile(path); err != nil {
		t.Fatalf("GenerateKEKFile: %v", err)
	}

	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {path, 0o600}} {
		info, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != c.want {
			t.Errorf("%s has mode %04o, want %04o", c.path, got, c.want)
		}
	}

	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(content) != 2*KEKSize+1 || content[2*KEKSize] != '\n' {
		t.Fatalf("file holds %d bytes, want 64 hex digits and a newline", len(content))
	}
	kek, err := LoadKEK(path)
	if err != nil {
		t.Fatalf("LoadKEK of generated file: %v", err)
	}
	if _, err := New(kek); err != nil {
		t.Fatalf("New with generated KEK: %v", err)
	}

	other := filepath.Join(dir, "kek2")
	if err := GenerateKEKFile(other); err != nil {
		t.Fatalf("GenerateKEKFile: %v", err)
	}
	kek2, err := LoadKEK(other)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(kek, kek2) {
		t.Fatal("two generated KEKs are equal")
	}
}

func TestGenerateKEKFileRefusesOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kek")
	if err := GenerateKEKFile(path); err != nil {
		t.Fatalf("GenerateKEKFile: %v", err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	err = GenerateKEKFile(path)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second GenerateKEKFile = %v, want an already-exists error", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("refused GenerateKEKFile changed the file")
	}
}

func TestGenerateKEKFileBadParent(t *testing.T) {
	parent := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(parent, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := GenerateKEKFile(filepath.Join(parent, "kek")); err == nil {
		t.Fatal("GenerateKEKFile under a regular file succeeded")
	}
}
