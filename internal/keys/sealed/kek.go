package sealed

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxKEKFile bounds what LoadKEK reads; any KEK encoding is far shorter.
const maxKEKFile = 1024

// LoadKEK reads a KEK from the file at path. The file holds exactly 32 raw
// bytes, or the KEK as 64 hex digits or standard base64, optionally followed
// by a newline. LoadKEK refuses a file that group or others may read or write.
func LoadKEK(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sealed: key-encryption key file: %w", err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sealed: key-encryption key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("sealed: key-encryption key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("sealed: key-encryption key file %s has mode %04o, "+
			"open to group or others; run chmod 600 %s", path, perm, path)
	}

	data, err := io.ReadAll(io.LimitReader(f, maxKEKFile+1))
	if err != nil {
		return nil, fmt.Errorf("sealed: key-encryption key file %s: %w", path, err)
	}
	defer clear(data)
	if len(data) > maxKEKFile {
		return nil, fmt.Errorf("sealed: key-encryption key file %s is too large", path)
	}
	if len(data) == KEKSize {
		return append([]byte(nil), data...), nil
	}

	kek, err := parseText(string(data))
	if err != nil {
		return nil, fmt.Errorf("sealed: key-encryption key file %s: %w", path, err)
	}
	return kek, nil
}

// ParseKEK decodes a KEK given as text, as in an environment variable: 64 hex
// digits or standard base64 of 32 bytes. Surrounding white space is ignored.
func ParseKEK(s string) ([]byte, error) {
	kek, err := parseText(s)
	if err != nil {
		return nil, fmt.Errorf("sealed: key-encryption key: %w", err)
	}
	return kek, nil
}

// parseText decodes hex or base64. Its errors never quote the input, which
// may be a nearly right key.
func parseText(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty")
	}
	if len(s) == 2*KEKSize {
		kek, err := hex.DecodeString(s)
		if err != nil {
			return nil, errors.New("64 characters but not hex digits")
		}
		return kek, nil
	}

	kek, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%d characters, neither 64 hex digits nor base64", len(s))
	}
	if len(kek) != KEKSize {
		clear(kek)
		return nil, fmt.Errorf("base64 of %d bytes, want %d", len(kek), KEKSize)
	}
	return kek, nil
}

// GenerateKEKFile writes a new random KEK, as hex and a newline, to a new
// file at path with mode 0600. It creates the parent directory with mode 0700
// if it is missing, and refuses to replace an existing file.
func GenerateKEKFile(path string) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("sealed: generate key-encryption key: %w", err)
	}

	kek := make([]byte, KEKSize)
	defer clear(kek)
	if _, err := rand.Read(kek); err != nil {
		return fmt.Errorf("sealed: generate key-encryption key: %w", err)
	}
	text := make([]byte, 2*KEKSize+1)
	defer clear(text)
	hex.Encode(text, kek)
	text[2*KEKSize] = '\n'

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("sealed: key-encryption key file %s already exists; "+
			"refusing to overwrite it", path)
	}
	if err != nil {
		return fmt.Errorf("sealed: generate key-encryption key: %w", err)
	}
	defer func() {
		if err != nil {
			os.Remove(path)
		}
	}()

	if _, err := f.Write(text); err != nil {
		f.Close()
		return fmt.Errorf("sealed: write key-encryption key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sealed: write key-encryption key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sealed: write key-encryption key: %w", err)
	}
	return nil
}
