package agent

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hallmark-project/hallmark/deviceid"
)

// maxKeyFile bounds the size of a key file that LoadKeyFile reads.
const maxKeyFile = 16 << 10

// KeyFileModeError reports a key file that its group or others may access.
type KeyFileModeError struct {
	Path string
	Mode fs.FileMode // the file's permission bits
}

func (e *KeyFileModeError) Error() string {
	return fmt.Sprintf("agent: key file %s has mode %04o, open to group or others; "+
		"it must be 0600 (chmod 600 %s)", e.Path, e.Mode.Perm(), e.Path)
}

// CreateKeyFile generates a device identity key, an ECDSA P-256 key, and
// writes it to path as PKCS#8 PEM with mode 0600. It creates missing parent
// directories with mode 0700. It refuses to replace an existing file, whose
// error matches [fs.ErrExist]: a device keeps its identity for life.
func CreateKeyFile(path string) (deviceid.ID, error) {
	if path == "" {
		return deviceid.ID{}, errors.New("agent: create key file: no path")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return deviceid.ID{}, fmt.Errorf("agent: create key file: generate key: %w", err)
	}
	id, err := deviceid.FromPublicKey(&key.PublicKey)
	if err != nil {
		return deviceid.ID{}, fmt.Errorf("agent: create key file: %w", err)
	}
	data, err := encodeKey(key)
	if err != nil {
		return deviceid.ID{}, fmt.Errorf("agent: create key file: %w", err)
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return deviceid.ID{}, fmt.Errorf("agent: create key file: %w", err)
	}
	// O_EXCL makes the refusal to overwrite atomic.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return deviceid.ID{}, fmt.Errorf("agent: create key file: %w", err)
	}
	if err := writeAndClose(f, data); err != nil {
		_ = os.Remove(path) // a partial key is worse than none
		return deviceid.ID{}, fmt.Errorf("agent: create key file: %w", err)
	}
	return id, nil
}

// LoadKeyFile reads a device identity key written by [CreateKeyFile], or any
// unencrypted PKCS#8 PEM ECDSA P-256 key, and returns it with its device ID.
// It refuses a key file that group or others may access, with a
// [*KeyFileModeError].
func LoadKeyFile(path string) (RootOfTrust, deviceid.ID, error) {
	key, err := loadKeyFile(path)
	if err != nil {
		var modeErr *KeyFileModeError
		if errors.As(err, &modeErr) {
			return nil, deviceid.ID{}, err
		}
		return nil, deviceid.ID{}, fmt.Errorf("agent: load key file: %w", err)
	}
	id, err := deviceid.FromPublicKey(&key.PublicKey)
	if err != nil {
		return nil, deviceid.ID{}, fmt.Errorf("agent: load key file %s: %w", path, err)
	}
	return key, id, nil
}

func loadKeyFile(path string) (*ecdsa.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, &KeyFileModeError{Path: path, Mode: fi.Mode().Perm()}
	}

	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxKeyFile)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// parseKey decodes one PEM block holding an unencrypted PKCS#8 P-256 key.
func parseKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("data after the PEM block")
	}
	switch block.Type {
	case "PRIVATE KEY":
	case "EC PRIVATE KEY":
		return nil, errors.New("key is SEC 1 (EC PRIVATE KEY), not PKCS#8; " +
			"convert it with openssl pkcs8 -topk8 -nocrypt")
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("key is encrypted; the simulator needs an unencrypted key")
	default:
		return nil, fmt.Errorf("PEM block is %q, want \"PRIVATE KEY\"", block.Type)
	}
	if len(block.Headers) > 0 {
		return nil, errors.New("PEM block has headers; the simulator needs an unencrypted key")
	}

	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse PKCS#8: %w", err)
	}
	key, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want ECDSA P-256", parsed)
	}
	if key.Curve != elliptic.P256() {
		return nil, fmt.Errorf("key is ECDSA %s, want P-256", key.Curve.Params().Name)
	}
	return key, nil
}

// encodeKey returns key as PKCS#8 PEM.
func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// writeAndClose writes data to f, flushes it to disk and closes f.
func writeAndClose(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
