package agent

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCreateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "device")
	path := filepath.Join(dir, "identity.pem")
	id, err := CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	checkMode(t, path, 0o600)
	checkMode(t, dir, 0o700)

	rot, loaded, err := LoadKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if loaded != id {
		t.Errorf("LoadKeyFile ID = %v, CreateKeyFile ID = %v", loaded, id)
	}
	pub, ok := rot.Public().(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("loaded key is %T, want ECDSA P-256", rot.Public())
	}
	if got, err := DeviceID(rot); err != nil || got != id {
		t.Errorf("DeviceID = %v, %v; want %v", got, err, id)
	}
}

func TestCreateKeyFileRefusesOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	if _, err := CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, path)
	_, err := CreateKeyFile(path)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second CreateKeyFile: %v, want fs.ErrExist", err)
	}
	if !bytes.Equal(readFile(t, path), before) {
		t.Error("the refused CreateKeyFile changed the key file")
	}
}

func TestCreateKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	writeFile(t, blocker, "not a directory", 0o600)
	for _, tc := range []struct{ name, path string }{
		{"empty path", ""},
		{"parent is a file", filepath.Join(blocker, "key.pem")},
		{"path is a directory", dir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := CreateKeyFile(tc.path); err == nil {
				t.Error("CreateKeyFile succeeded")
			}
		})
	}
}

func TestLoadKeyFileMode(t *testing.T) {
	for _, mode := range []fs.FileMode{0o640, 0o604, 0o644, 0o660} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")
			if _, err := CreateKeyFile(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadKeyFile(path)
			var modeErr *KeyFileModeError
			if !errors.As(err, &modeErr) {
				t.Fatalf("LoadKeyFile: %v, want a *KeyFileModeError", err)
			}
			if modeErr.Mode != mode || !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("error %q: mode %v, want %v and a chmod hint", err, modeErr.Mode, mode)
			}
		})
	}
}

func TestLoadKeyFileMissing(t *testing.T) {
	_, _, err := LoadKeyFile(filepath.Join(t.TempDir(), "absent.pem"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadKeyFile: %v, want fs.ErrNotExist", err)
	}
	if _, _, err := LoadKeyFile(t.TempDir()); err == nil {
		t.Error("LoadKeyFile of a directory succeeded")
	}
}

// TestLoadKeyFileDefects feeds key files that are wrong in one way each.
func TestLoadKeyFileDefects(t *testing.T) {
	good := readFile(t, newKeyFile(t))
	block, _ := pem.Decode(good)
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: block.Bytes})
	for _, tc := range []struct {
		name, data, want string
	}{
		{"not PEM", "garbage", "no PEM block"},
		{"empty", "", "no PEM block"},
		{"trailing data", string(good) + "junk\n", "data after the PEM block"},
		{"two keys", string(good) + string(good), "data after the PEM block"},
		{"certificate block", pemText("CERTIFICATE", block.Bytes), "want \"PRIVATE KEY\""},
		{"pem headers", string(withHeaders), "headers"},
		{"bad PKCS#8", pemText("PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00}),
			"parse PKCS#8"},
		{"too large", strings.Repeat("x", maxKeyFile+1), "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "key.pem")
			writeFile(t, path, tc.data, 0o600)
			_, _, err := LoadKeyFile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadKeyFile: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestLoadKeyFileOpenSSL loads keys made by the openssl command: a P-256
// PKCS#8 key loads with the ID that openssl's public key gives, and every
// other kind is refused.
func TestLoadKeyFileOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // error substring; "" for success
	}{
		{"p256-pkcs8", []string{"genpkey", "-algorithm", "EC",
			"-pkeyopt", "ec_paramgen_curve:P-256"}, ""},
		{"p384-pkcs8", []string{"genpkey", "-algorithm", "EC",
			"-pkeyopt", "ec_paramgen_curve:P-384"}, "want P-256"},
		{"rsa-pkcs8", []string{"genpkey", "-algorithm", "RSA",
			"-pkeyopt", "rsa_keygen_bits:2048"}, "want ECDSA P-256"},
		{"ed25519-pkcs8", []string{"genpkey", "-algorithm", "ED25519"}, "want ECDSA P-256"},
		{"p256-sec1", []string{"ecparam", "-name", "prime256v1", "-genkey", "-noout"},
			"not PKCS#8"},
		{"p256-encrypted", []string{"genpkey", "-algorithm", "EC",
			"-pkeyopt", "ec_paramgen_curve:P-256", "-aes256", "-pass", "pass:test"},
			"encrypted"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), tc.name+".pem")
			openssl(t, append(tc.args, "-out", path)...)
			if err := os.Chmod(path, 0o600); err != nil {
				t.Fatal(err)
			}
			_, id, err := LoadKeyFile(path)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("LoadKeyFile: %v, want an error containing %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			der := openssl(t, "ec", "-in", path, "-pubout", "-outform", "DER",
				"-conv_form", "uncompressed")
			if want := hex.EncodeToString(der[len(der)-64:]); id.String() != want {
				t.Errorf("ID = %s, openssl's public key gives %s", id, want)
			}
		})
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := parseKey(data)
		if err == nil && key.Curve != elliptic.P256() {
			t.Errorf("parseKey accepted a key on %s", key.Curve.Params().Name)
		}
	})
}

// newKeyFile creates a test device key in a temporary directory.
func newKeyFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test-device-key.pem")
	if _, err := CreateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func openssl(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("openssl", args...).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("openssl %s: %v: %s", strings.Join(args, " "), err, exit.Stderr)
		}
		t.Fatalf("openssl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func pemText(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path, data string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
