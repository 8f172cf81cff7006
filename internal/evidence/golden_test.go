package evidence_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

var update = flag.Bool("update", false, "rewrite the golden evidence in testdata")

const (
	goldenKeyFile      = "testdata/test-device-key.pem"
	goldenEvidenceFile = "testdata/evidence.hex"
	goldenDiagFile     = "testdata/evidence.diag" // for readers: the same in CBOR EDN
)

// goldenClaims are the claims of the golden evidence. They are spelled out
// here, apart from the other tests' claims, so the vector stays put.
func goldenClaims() evidence.Claims {
	nonce, _ := hex.DecodeString(
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
	return evidence.Claims{
		Nonce:    nonce,
		IssuedAt: time.Unix(1767225600, 0).UTC(),
		Components: []evidence.Component{
			{Name: "rom", Version: "1.0", Digest: sha256.Sum256([]byte("rom 1.0")), SVN: 1},
			{Name: "bootloader", Version: "2.3.1",
				Digest: sha256.Sum256([]byte("bootloader 2.3.1")), SVN: 4},
			{Name: "firmware", Version: "2026.01.0",
				Digest: sha256.Sum256([]byte("firmware 2026.01.0")), SVN: 17},
		},
		KeyBinding: sha256.Sum256([]byte("golden CSR public key")),
	}
}

// TestGolden pins the wire format. ECDSA signatures are randomised, so the
// test compares everything before the 64-byte signature with a fresh Sign
// and checks that the stored signature verifies. Regenerate the file with
// go test ./internal/evidence -run TestGolden -update.
func TestGolden(t *testing.T) {
	key := goldenKey(t)
	if *update {
		b, err := evidence.Sign(key, goldenClaims())
		if err != nil {
			t.Fatal(err)
		}
		writeHex(t, goldenEvidenceFile, b)
		if err := os.WriteFile(goldenDiagFile, []byte(diagnose(t, b)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden := readHex(t, goldenEvidenceFile)
	diag, err := os.ReadFile(goldenDiagFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(diag), diagnose(t, golden)+"\n"); diff != "" {
		t.Errorf("%s does not describe %s (-diag +hex):\n%s",
			goldenDiagFile, goldenEvidenceFile, diff)
	}

	ev, err := evidence.Parse(golden)
	if err != nil {
		t.Fatalf("golden evidence does not parse: %v", err)
	}
	if err := ev.Verify(); err != nil {
		t.Fatalf("golden evidence does not verify: %v", err)
	}
	if diff := cmp.Diff(goldenClaims(), ev.Claims()); diff != "" {
		t.Errorf("golden claims (-want +got):\n%s", diff)
	}
	id, err := deviceid.FromPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if ev.DeviceID() != id {
		t.Errorf("golden device ID = %v, want %v", ev.DeviceID(), id)
	}

	fresh, err := evidence.Sign(key, goldenClaims())
	if err != nil {
		t.Fatal(err)
	}
	unsigned := func(b []byte) string { return hex.EncodeToString(b[:max(len(b)-64, 0)]) }
	if diff := cmp.Diff(unsigned(golden), unsigned(fresh)); diff != "" {
		t.Errorf("Sign no longer writes the golden format (-golden +now):\n%s", diff)
	}
}

// diagnose returns b in CBOR extended diagnostic notation, with embedded CBOR
// shown decoded.
func diagnose(t *testing.T, b []byte) string {
	t.Helper()
	dm, err := cbor.DiagOptions{
		ByteStringEncoding:     cbor.ByteStringBase16Encoding,
		ByteStringEmbeddedCBOR: true,
	}.DiagMode()
	if err != nil {
		t.Fatal(err)
	}
	s, err := dm.Diagnose(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goldenKey reads the fixed test key, creating it when -update is set and
// it does not exist yet.
func goldenKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(goldenKeyFile)
	if errors.Is(err, fs.ErrNotExist) && *update {
		b = newGoldenKey(t)
	} else if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", goldenKeyFile)
	}
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func newGoldenKey(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.WriteString("TEST KEY. This P-256 key signs the golden evidence in evidence.hex.\n" +
		"It is public and must never identify a real device.\n\n")
	if err := pem.Encode(&buf, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(goldenKeyFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenKeyFile, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readHex reads a file of hex lines; lines starting with # are comments.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var digits strings.Builder
	for line := range strings.Lines(string(text)) {
		if !strings.HasPrefix(line, "#") {
			digits.WriteString(strings.TrimSpace(line))
		}
	}
	b, err := hex.DecodeString(digits.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func writeHex(t *testing.T, name string, b []byte) {
	t.Helper()
	var out strings.Builder
	out.WriteString("# Evidence signed by the TEST KEY in test-device-key.pem.\n" +
		"# Regenerate: go test ./internal/evidence -run TestGolden -update\n")
	for s := hex.EncodeToString(b); s != ""; {
		n := min(len(s), 64)
		out.WriteString(s[:n] + "\n")
		s = s[n:]
	}
	if err := os.WriteFile(name, []byte(out.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
