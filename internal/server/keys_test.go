package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/config"
	"github.com/hallmark-project/hallmark/internal/keys/hsm"
	"github.com/hallmark-project/hallmark/internal/keys/sealed"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/pgtest"
)

// installation is a data directory and a KEK file that several servers use
// in turn, as an operator restarting Hallmark would.
type installation struct {
	dir  string   // holds data/ and secrets/
	args []string // the flags of every server on it
}

func newInstallation(t *testing.T, database string, extra ...string) *installation {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{
		"--data-dir", filepath.Join(dir, "data"),
		"--database", database,
		"--kek-file", filepath.Join(dir, "secrets", "kek"),
		"--admin-addr", "127.0.0.1:0",
		"--daa-addr", "127.0.0.1:0",
		"--pki-addr", "127.0.0.1:0",
		"--metrics-addr", "127.0.0.1:0",
		"--public-url", "http://pki.test",
	}, extra...)
	return &installation{dir: dir, args: args}
}

func (in *installation) dataDir() string { return filepath.Join(in.dir, "data") }
func (in *installation) kekFile() string { return filepath.Join(in.dir, "secrets", "kek") }

// serve runs a server on the installation until t ends; call it in a
// subtest to stop the server before the next one starts. Later flags in
// extra override the installation's.
func (in *installation) serve(t *testing.T, extra ...string) *harness {
	t.Helper()
	args := append(slices.Clone(in.args), extra...)
	h := &harness{t: t, dataDir: in.dataDir(), args: args}
	h.run(args)
	return h
}

// open opens the installation as a server does, closes it again, and
// returns what it printed.
func (in *installation) open(extra ...string) (string, error) {
	sys, out, err := openArgs(append(slices.Clone(in.args), extra...))
	if err == nil {
		sys.Close()
	}
	return out, err
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// openArgs reads the configuration from args and opens the system, as Serve
// does before it listens. It does not use a testing.T, so goroutines may
// call it.
func openArgs(args []string) (*system, string, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg, apply := config.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	if err := apply(); err != nil {
		return nil, "", err
	}
	var out bytes.Buffer
	sys, err := open(context.Background(), cfg, testLogger(), &out)
	return sys, out.String(), err
}

// serveSys serves an opened system until t ends and returns its listeners'
// addresses. If serving fails before it listens, it closes sys and returns
// the error.
func serveSys(t *testing.T, sys *system) (map[string]string, error) {
	t.Helper()
	want := 1 // admin
	for _, addr := range []string{sys.cfg.DAAAddr, sys.cfg.PKIAddr, sys.cfg.MetricsAddr} {
		if addr != "" {
			want++
		}
	}
	var mu sync.Mutex
	addrs := map[string]string{}
	ready := make(chan struct{})
	sys.onListen = func(name, addr string) {
		mu.Lock()
		defer mu.Unlock()
		addrs[name] = addr
		if len(addrs) == want {
			close(ready)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sys.serve(ctx) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		sys.Close()
		return nil, err
	case <-time.After(30 * time.Second):
		cancel()
		<-done
		sys.Close()
		return nil, errors.New("server did not start listening")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		sys.Close()
	})
	return addrs, nil
}

// harnessFor wraps a server that serveSys started. roots are the CAs the
// client trusts; nil trusts the certificate in the data directory.
func harnessFor(t *testing.T, sys *system, addrs map[string]string, operator string,
	roots *x509.CertPool) *harness {
	t.Helper()
	if roots == nil {
		pem, err := os.ReadFile(filepath.Join(sys.cfg.DataDir, AdminCertFile))
		if err != nil {
			t.Fatal(err)
		}
		roots = x509.NewCertPool()
		roots.AppendCertsFromPEM(pem)
	}
	return &harness{t: t, sys: sys, admin: "https://" + addrs["admin"],
		daa: "https://" + addrs["daa"], pki: "http://" + addrs["pki"],
		metrics: "http://" + addrs["metrics"], operator: operator, dataDir: sys.cfg.DataDir,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13}}}}
}

// tokens returns the distinct operator tokens in a server's output.
func tokens(out string) []string {
	all := tokenRE.FindAllString(out, -1)
	slices.Sort(all)
	return slices.Compact(all)
}

// newKEKFile writes a fresh KEK file outside any data directory.
func newKEKFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kek")
	if err := sealed.GenerateKEKFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// testCode is a verification code for proof certificates.
const testCode = "5F1D0AE2C8B0479A93E4B1D2C3A4F5E6A7B8C9D0E1F2A3B4"

// proof asks for a proof certificate of the tenant's active CA and returns
// it with the CA's chain (tenant CA, intermediate, root).
func proof(h *harness, tenantID, admin string) (chainPEM, proofPEM []byte) {
	h.t.Helper()
	base := "/api/v1/tenants/" + tenantID + "/certificates/active"
	chainPEM = h.must(200, "GET", base+"/chain", admin, nil).body
	proofPEM = h.must(200, "POST", base+"/proof", admin,
		map[string]string{"verification_code": testCode}).body
	return chainPEM, proofPEM
}

// verifyProof checks a proof certificate with openssl against the root of
// the chain, and its subject.
func verifyProof(t *testing.T, chainPEM, proofPEM []byte) {
	t.Helper()
	certs := splitPEM(t, chainPEM)
	if len(certs) != 3 {
		t.Fatalf("chain has %d certificates, want 3", len(certs))
	}
	root := writeTemp(t, "root.pem", certs[2])
	untrusted := writeTemp(t, "untrusted.pem", append(append([]byte{}, certs[0]...),
		certs[1]...))
	leaf := writeTemp(t, "proof.pem", proofPEM)
	if out, err := openssl(t, "verify", "-x509_strict", "-CAfile", root, "-untrusted",
		untrusted, leaf); err != nil {
		t.Fatalf("openssl verify proof: %v\n%s", err, out)
	}
	block, _ := pem.Decode(proofPEM)
	if block == nil {
		t.Fatalf("proof is not PEM: %q", proofPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != testCode {
		t.Errorf("proof subject CN = %q, want %q", cert.Subject.CommonName, testCode)
	}
}

// storedKeys returns the key records of the root, the intermediate and the
// tenants' CAs, after checking that the CA certificates carry their keys.
func storedKeys(t *testing.T, st store.Store, tenantIDs ...string) []store.Key {
	t.Helper()
	ctx := context.Background()
	type list struct {
		kind   store.CAKind
		tenant string
	}
	lists := []list{{store.KindRoot, ""}, {store.KindIntermediate, ""}}
	for _, id := range tenantIDs {
		lists = append(lists, list{store.KindTenant, id})
	}
	var out []store.Key
	for _, l := range lists {
		cas, err := st.ListCAs(ctx, l.kind, l.tenant)
		if err != nil {
			t.Fatalf("ListCAs(%s): %v", l.kind, err)
		}
		if len(cas) != 1 {
			t.Fatalf("%d %s CAs, want 1", len(cas), l.kind)
		}
		k, err := st.GetKey(ctx, cas[0].KeyID)
		if err != nil {
			t.Fatalf("GetKey(%s): %v", cas[0].KeyID, err)
		}
		cert, err := x509.ParseCertificate(cas[0].CertDER)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cert.RawSubjectPublicKeyInfo, k.Public) {
			t.Errorf("%s CA certificate does not carry the public key of key %s", l.kind, k.ID)
		}
		out = append(out, k)
	}
	return out
}

// softHSM points SoftHSM2 at a token directory of the test's own and
// initialises a token there; it returns the token label and sets
// HALLMARK_PKCS11_PIN to its user PIN.
func softHSM(t *testing.T) (module, label, pin string) {
	t.Helper()
	const hint = "the PKCS#11 tests need SoftHSM2; install it with: apt-get install softhsm2"
	module = "/usr/lib/softhsm/libsofthsm2.so"
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		t.Fatalf("softhsm2-util not found: %v\n%s", err, hint)
	}
	if _, err := os.Stat(module); err != nil {
		t.Fatalf("PKCS#11 module: %v\n%s", err, hint)
	}
	dir := t.TempDir()
	tokenDir := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokenDir, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	text := "directories.tokendir = " + tokenDir + "\nobjectstore.backend = file\n" +
		"log.level = ERROR\n"
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// SoftHSM2 reads this when the module is initialised; no backend of an
	// earlier test is open by now, so the module initialises afresh.
	t.Setenv("SOFTHSM2_CONF", conf)

	label, pin = "hallmark-server-test", "test-user-pin" // test values
	out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label,
		"--so-pin", "test-so-pin", "--pin", pin).CombinedOutput()
	if err != nil {
		t.Fatalf("init SoftHSM2 token: %v\n%s", err, out)
	}
	t.Setenv("HALLMARK_PKCS11_PIN", pin)
	return module, label, pin
}

// TestPKCS11Backend serves with CA keys on a SoftHSM2 token, restarts on the
// same data directory and token, and issues again with the keys found there.
func TestPKCS11Backend(t *testing.T) {
	module, label, pin := softHSM(t)
	in := newInstallation(t, "sqlite", "--key-backend", "pkcs11", "--pkcs11-module", module,
		"--pkcs11-token", label)

	var operator, tenantID, admin string
	var rootPEM []byte
	var stored []store.Key
	ok := t.Run("first start", func(t *testing.T) {
		h := in.serve(t)
		if h.operator == "" {
			t.Fatal("first start printed no operator token")
		}
		operator = h.operator
		tenantID, admin = h.createTenant("acme")
		chainPEM, proofPEM := proof(h, tenantID, admin)
		verifyProof(t, chainPEM, proofPEM)
		rootPEM = splitPEM(t, chainPEM)[2]

		stored = storedKeys(t, h.sys.store, tenantID)
		for _, k := range stored {
			if k.Backend != "pkcs11" {
				t.Errorf("key %s: backend %q, want pkcs11", k.ID, k.Backend)
			}
			// The reference is the CKA_ID, which is the key ID; no key
			// material is stored.
			if !bytes.Equal(k.Ref, []byte(k.ID)) {
				t.Errorf("key %s: reference %x is not the key ID", k.ID, k.Ref)
			}
			if _, err := x509.ParsePKCS8PrivateKey(k.Ref); err == nil {
				t.Errorf("key %s: reference is a private key", k.ID)
			}
		}
		if _, err := os.Stat(in.kekFile()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the pkcs11 backend made a KEK file: %v", err)
		}
	})
	if !ok {
		return
	}

	t.Run("keys on the token", func(t *testing.T) {
		b, err := hsm.Open(hsm.Config{Module: module, TokenLabel: label, PIN: pin})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for _, k := range stored {
			s, err := b.Signer(context.Background(), k.ID, k.Ref)
			if err != nil {
				t.Fatalf("key %s is not on the token: %v", k.ID, err)
			}
			pub, err := x509.MarshalPKIXPublicKey(s.Public())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pub, k.Public) {
				t.Errorf("token key %s differs from the stored public key", k.ID)
			}
		}
	})

	t.Run("restart", func(t *testing.T) {
		h := in.serve(t)
		if h.operator != "" {
			t.Error("restart printed a new operator token")
		}
		h.operator = operator
		// The tenant CA signs with its key from the token.
		chainPEM, proofPEM := proof(h, tenantID, admin)
		verifyProof(t, chainPEM, proofPEM)
		if !bytes.Equal(splitPEM(t, chainPEM)[2], rootPEM) {
			t.Error("the root changed across the restart")
		}
		// The intermediate signs a new tenant CA with its key from the token.
		otherID, otherAdmin := h.createTenant("globex")
		chainPEM, proofPEM = proof(h, otherID, otherAdmin)
		verifyProof(t, chainPEM, proofPEM)
		h.must(200, "GET", "/readyz", "", nil)
	})

	t.Run("open errors", func(t *testing.T) {
		tests := []struct {
			name  string
			extra []string
			pin   string // "" unsets HALLMARK_PKCS11_PIN
			want  string
			is    error
		}{
			{"wrong PIN", nil, "wrong-test-pin", "PIN", hsm.ErrWrongPIN},
			{"no PIN", nil, "", "PIN", nil},
			{"unknown token", []string{"--pkcs11-token", "no-such-token"}, pin, "no-such-token",
				hsm.ErrTokenNotFound},
			{"missing module", []string{"--pkcs11-module", "/nonexistent/libp11.so"}, pin,
				"/nonexistent/libp11.so", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Setenv("HALLMARK_PKCS11_PIN", tc.pin)
				if tc.pin == "" {
					os.Unsetenv("HALLMARK_PKCS11_PIN")
				}
				out, err := in.open(tc.extra...)
				if err == nil {
					t.Fatal("open succeeded")
				}
				if !strings.Contains(err.Error(), tc.want) ||
					tc.is != nil && !errors.Is(err, tc.is) {
					t.Errorf("err = %v, want one naming %q (%v)", err, tc.want, tc.is)
				}
				if tc.pin != "" && tc.pin != pin && strings.Contains(err.Error(), tc.pin) {
					t.Errorf("error echoes the PIN: %v", err)
				}
				if len(tokens(out)) != 0 {
					t.Errorf("failed open printed a token: %s", out)
				}
			})
		}
	})

	t.Run("sealed backend on pkcs11 keys", func(t *testing.T) {
		// The keys are on the token; a server with the sealed backend cannot
		// use them and must refuse to start, naming the backend.
		_, err := in.open("--key-backend", "sealed")
		if err == nil || !strings.Contains(err.Error(), "pkcs11") {
			t.Fatalf("open with the sealed backend = %v, want an error naming pkcs11", err)
		}
	})
}

// TestSealedRestart restarts a sealed installation with the right KEK, a
// wrong one, and none.
func TestSealedRestart(t *testing.T) {
	in := newInstallation(t, "sqlite")
	var operator, tenantID, admin string
	ok := t.Run("first start", func(t *testing.T) {
		h := in.serve(t)
		operator = h.operator
		tenantID, admin = h.createTenant("acme")
		for _, k := range storedKeys(t, h.sys.store, tenantID) {
			if k.Backend != "sealed" {
				t.Errorf("key %s: backend %q, want sealed", k.ID, k.Backend)
			}
			if _, err := x509.ParsePKCS8PrivateKey(k.Ref); err == nil {
				t.Errorf("key %s: the reference is a plain private key", k.ID)
			}
		}
	})
	if !ok {
		return
	}

	t.Run("KEK file mode", func(t *testing.T) {
		for path, want := range map[string]os.FileMode{in.kekFile(): 0o600,
			filepath.Dir(in.kekFile()): 0o700} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("%s has mode %04o, want %04o", path, got, want)
			}
		}
	})

	t.Run("same KEK", func(t *testing.T) {
		h := in.serve(t)
		if h.operator != "" {
			t.Error("restart printed a new operator token")
		}
		h.operator = operator
		h.must(200, "GET", "/api/v1/whoami", operator, nil)
		chainPEM, proofPEM := proof(h, tenantID, admin)
		verifyProof(t, chainPEM, proofPEM)
	})

	t.Run("same KEK from HALLMARK_KEK", func(t *testing.T) {
		kek, err := sealed.LoadKEK(in.kekFile())
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("HALLMARK_KEK", hex.EncodeToString(kek))
		// The variable wins over a KEK file that does not exist.
		h := in.serve(t, "--kek-file", filepath.Join(t.TempDir(), "absent"))
		h.operator = operator
		chainPEM, proofPEM := proof(h, tenantID, admin)
		verifyProof(t, chainPEM, proofPEM)
	})

	t.Run("other KEK file", func(t *testing.T) {
		out, err := in.open("--kek-file", newKEKFile(t))
		if err == nil || !strings.Contains(err.Error(), "key-encryption key") {
			t.Fatalf("err = %v, want one about the key-encryption key", err)
		}
		if len(tokens(out)) != 0 {
			t.Errorf("failed open printed a token: %s", out)
		}
	})

	t.Run("other KEK from HALLMARK_KEK", func(t *testing.T) {
		other := make([]byte, sealed.KEKSize)
		rand.Read(other)
		t.Setenv("HALLMARK_KEK", hex.EncodeToString(other))
		_, err := in.open()
		if err == nil || !strings.Contains(err.Error(), "key-encryption key") {
			t.Fatalf("err = %v, want one about the key-encryption key", err)
		}
		if strings.Contains(err.Error(), hex.EncodeToString(other)) {
			t.Errorf("error echoes the KEK: %v", err)
		}
	})

	t.Run("bad HALLMARK_KEK", func(t *testing.T) {
		tests := []struct{ name, value string }{
			{"garbage", "garbage-kek-value-do-not-echo"},
			{"64 characters, not hex", strings.Repeat("zq", 32)},
			{"base64 of 16 bytes", "c2VjcmV0LWtlay0xNi1ieQ=="},
			{"blank", "   "},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				t.Setenv("HALLMARK_KEK", tc.value)
				_, err := in.open()
				if err == nil || !strings.Contains(err.Error(), "HALLMARK_KEK") {
					t.Fatalf("err = %v, want one naming HALLMARK_KEK", err)
				}
				if v := strings.TrimSpace(tc.value); v != "" && strings.Contains(err.Error(), v) {
					t.Errorf("error echoes the value: %v", err)
				}
			})
		}
	})

	t.Run("missing KEK file", func(t *testing.T) {
		moved := filepath.Join(t.TempDir(), "kek")
		if err := os.Rename(in.kekFile(), moved); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(moved, in.kekFile())
		_, err := in.open()
		if err == nil || !strings.Contains(err.Error(), "key-encryption key") {
			t.Fatalf("err = %v, want one about the key-encryption key", err)
		}
		if _, err := os.Stat(in.kekFile()); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("a new KEK file was made for keys sealed under another: %v", err)
		}
	})

	t.Run("KEK file open to others", func(t *testing.T) {
		if err := os.Chmod(in.kekFile(), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(in.kekFile(), 0o600)
		_, err := in.open()
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("err = %v, want one suggesting chmod 600", err)
		}
	})

	t.Run("KEK file inside the data directory", func(t *testing.T) {
		for _, p := range []string{
			filepath.Join(in.dataDir(), "kek"),
			filepath.Join(in.dataDir(), "tls", "..", "secrets", "kek"),
		} {
			_, err := in.open("--kek-file", p)
			if err == nil || !strings.Contains(err.Error(), "inside the data directory") {
				t.Errorf("--kek-file %s: err = %v, want a refusal", p, err)
			}
		}
	})
}

// TestKEKFileInsideNewDataDir checks that a first start does not make a KEK
// file inside the data directory.
func TestKEKFileInsideNewDataDir(t *testing.T) {
	in := newInstallation(t, "sqlite")
	kek := filepath.Join(in.dataDir(), "kek")
	_, err := in.open("--kek-file", kek)
	if err == nil || !strings.Contains(err.Error(), "inside the data directory") ||
		!strings.Contains(err.Error(), kek) {
		t.Fatalf("err = %v, want a refusal naming %s", err, kek)
	}
	if _, err := os.Stat(kek); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the KEK file was made: %v", err)
	}
	// A directory beside the data directory whose name starts alike is not
	// inside it.
	beside := in.dataDir() + "-secrets/kek"
	if _, err := in.open("--kek-file", beside); err != nil {
		t.Fatalf("--kek-file %s: %v", beside, err)
	}
}

// TestAdminCertificate checks the self-signed admin certificate that the
// first start makes and later starts keep.
func TestAdminCertificate(t *testing.T) {
	in := newInstallation(t, "sqlite")
	certFile := filepath.Join(in.dataDir(), AdminCertFile)
	keyFile := filepath.Join(in.dataDir(), adminKeyFile)
	var certPEM, keyPEM []byte
	var operator string
	ok := t.Run("first start", func(t *testing.T) {
		h := in.serve(t)
		operator = h.operator
		h.must(200, "GET", "/api/v1/whoami", operator, nil)
		var err error
		if certPEM, err = os.ReadFile(certFile); err != nil {
			t.Fatal(err)
		}
		if keyPEM, err = os.ReadFile(keyFile); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]os.FileMode{keyFile: 0o600,
			filepath.Dir(keyFile): 0o700} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Mode().Perm(); got != want {
				t.Errorf("%s has mode %04o, want %04o", path, got, want)
			}
		}
		block, _ := pem.Decode(certPEM)
		if block == nil {
			t.Fatalf("%s is not PEM", certFile)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if err := cert.VerifyHostname("127.0.0.1"); err != nil {
			t.Error(err)
		}
		if err := cert.VerifyHostname("localhost"); err != nil {
			t.Error(err)
		}
	})
	if !ok {
		return
	}

	t.Run("restart", func(t *testing.T) {
		h := in.serve(t)
		got, err := os.ReadFile(certFile)
		if err != nil {
			t.Fatal(err)
		}
		gotKey, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, certPEM) || !bytes.Equal(gotKey, keyPEM) {
			t.Error("restart replaced the admin certificate")
		}
		h.must(200, "GET", "/api/v1/whoami", operator, nil)
	})

	t.Run("key missing", func(t *testing.T) {
		moved := filepath.Join(t.TempDir(), "admin.key")
		if err := os.Rename(keyFile, moved); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(moved, keyFile)
		err := serveErr(t, in.args)
		if err == nil || !strings.Contains(err.Error(), "admin TLS") {
			t.Fatalf("err = %v, want one about the admin TLS certificate", err)
		}
	})

	t.Run("corrupt certificate", func(t *testing.T) {
		if err := os.WriteFile(certFile, []byte("not a certificate\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(certFile, certPEM, 0o644)
		err := serveErr(t, in.args)
		if err == nil || !strings.Contains(err.Error(), "admin TLS") {
			t.Fatalf("err = %v, want one about the admin TLS certificate", err)
		}
	})
}

// serveErr opens and serves a server with args and returns the error that
// stopped it from listening; nil if it listens (it then runs until t ends).
func serveErr(t *testing.T, args []string) error {
	t.Helper()
	sys, _, err := openArgs(args)
	if err != nil {
		return err
	}
	_, err = serveSys(t, sys)
	return err
}

// testTLS is a CA of the test's own and an admin certificate it issued.
type testTLS struct {
	roots             *x509.CertPool
	leafDER           []byte
	certFile, keyFile string // the leaf and its key
	caKeyFile         string // a key that does not match the leaf
}

func newTestTLS(t *testing.T) testTLS {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject:   pkix.Name{CommonName: "test admin CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2),
		Subject:   pkix.Name{CommonName: "test admin API"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}

	writeKey := func(name string, k *ecdsa.PrivateKey) string {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tt := testTLS{roots: x509.NewCertPool(), leafDER: leafDER,
		certFile: filepath.Join(dir, "admin.pem"), keyFile: writeKey("admin.key", leafKey),
		caKeyFile: writeKey("ca.key", caKey)}
	tt.roots.AddCert(ca)
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	if err := os.WriteFile(tt.certFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return tt
}

// TestOwnTLSCertificate serves the admin API with a certificate given by
// --tls-cert and --tls-key.
func TestOwnTLSCertificate(t *testing.T) {
	tt := newTestTLS(t)
	in := newInstallation(t, "sqlite", "--tls-cert", tt.certFile, "--tls-key", tt.keyFile)
	sys, out, err := openArgs(in.args)
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := serveSys(t, sys)
	if err != nil {
		t.Fatal(err)
	}
	operator := tokenRE.FindString(out)
	h := harnessFor(t, sys, addrs, operator, tt.roots)
	h.must(200, "GET", "/api/v1/whoami", operator, nil)

	for _, name := range []string{"admin", "daa"} {
		conn, err := tls.Dial("tcp", addrs[name], &tls.Config{RootCAs: tt.roots,
			MinVersion: tls.VersionTLS13})
		if err != nil {
			t.Fatalf("%s listener: %v", name, err)
		}
		served := conn.ConnectionState().PeerCertificates[0].Raw
		conn.Close()
		if !bytes.Equal(served, tt.leafDER) {
			t.Errorf("the %s listener does not serve the configured certificate", name)
		}
	}
	if _, err := os.Stat(filepath.Join(in.dataDir(), "tls")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a self-signed certificate was made although one is configured: %v", err)
	}

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name      string
			cert, key string
		}{
			{"missing certificate", filepath.Join(t.TempDir(), "absent.pem"), tt.keyFile},
			{"missing key", tt.certFile, filepath.Join(t.TempDir(), "absent.key")},
			{"key of another certificate", tt.certFile, tt.caKeyFile},
			{"key as certificate", tt.keyFile, tt.keyFile},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				other := newInstallation(t, "sqlite", "--tls-cert", tc.cert, "--tls-key", tc.key)
				err := serveErr(t, other.args)
				if err == nil || !strings.Contains(err.Error(), "admin TLS") {
					t.Fatalf("err = %v, want one about the admin TLS certificate", err)
				}
			})
		}
	})
}

// TestInit runs Init twice on one data directory, then serves it.
func TestInit(t *testing.T) {
	in := newInstallation(t, "sqlite")
	ctx := context.Background()

	var stdout, stderr bytes.Buffer
	if err := Init(ctx, in.args, &stdout, &stderr); err != nil {
		t.Fatalf("Init: %v\n%s", err, stderr.String())
	}
	toks := tokens(stdout.String())
	if len(toks) != 1 {
		t.Fatalf("first Init printed %d operator tokens, want 1:\n%s", len(toks), stdout.String())
	}
	if !strings.Contains(stdout.String(), in.dataDir()) {
		t.Errorf("Init does not name the data directory:\n%s", stdout.String())
	}
	if !strings.Contains(stderr.String(), in.kekFile()) {
		t.Errorf("Init does not tell where it made the KEK:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), toks[0]) {
		t.Error("Init logged the operator token")
	}

	stdout.Reset()
	stderr.Reset()
	if err := Init(ctx, in.args, &stdout, &stderr); err != nil {
		t.Fatalf("second Init: %v\n%s", err, stderr.String())
	}
	if got := tokens(stdout.String()); len(got) != 0 {
		t.Errorf("second Init printed operator tokens %v", got)
	}
	if strings.Contains(stderr.String(), "created") {
		t.Errorf("second Init created something:\n%s", stderr.String())
	}

	t.Run("serve", func(t *testing.T) {
		h := in.serve(t)
		if h.operator != "" {
			t.Error("serve after Init printed a new operator token")
		}
		h.must(200, "GET", "/api/v1/whoami", toks[0], nil)
	})

	t.Run("errors", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			args []string
			want string
		}{
			{"unknown flag", []string{"--no-such-flag"}, "no-such-flag"},
			{"bad setting", []string{"--key-backend", "vault"}, "key-backend"},
			{"data directory is a file", []string{"--data-dir", file}, "data directory"},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				err := Init(ctx, append(slices.Clone(in.args), tc.args...), &stdout, &stderr)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one naming %q", err, tc.want)
				}
				if got := tokens(stdout.String()); len(got) != 0 {
					t.Errorf("failed Init printed operator tokens %v", got)
				}
			})
		}
	})
}

// TestOperatorTokenRecovery revokes the only operator token and restarts:
// the restart prints a new one.
func TestOperatorTokenRecovery(t *testing.T) {
	in := newInstallation(t, "sqlite")
	var revoked string
	ok := t.Run("revoke", func(t *testing.T) {
		h := in.serve(t)
		revoked = h.operator
		var who struct {
			TokenID string `json:"token_id"`
		}
		h.must(200, "GET", "/api/v1/whoami", revoked, nil).json(t, &who)
		h.must(200, "DELETE", "/api/v1/tokens/"+who.TokenID, revoked, nil)
		if r := h.call("GET", "/api/v1/whoami", revoked, nil); r.status != 401 ||
			r.code() != "token_revoked" {
			t.Fatalf("revoked token: %d %s", r.status, r.body)
		}
	})
	if !ok {
		return
	}

	var recovered string
	ok = t.Run("restart prints a new token", func(t *testing.T) {
		h := in.serve(t)
		recovered = h.operator
		if recovered == "" || recovered == revoked {
			t.Fatalf("restart printed %q, want a new operator token", recovered)
		}
		var who struct{ Role string }
		h.must(200, "GET", "/api/v1/whoami", recovered, nil).json(t, &who)
		if who.Role != "operator" {
			t.Errorf("new token's role = %q", who.Role)
		}
		if r := h.call("GET", "/api/v1/whoami", revoked, nil); r.status != 401 ||
			r.code() != "token_revoked" {
			t.Errorf("revoked token after restart: %d %s", r.status, r.body)
		}
		// A further operator token keeps the next restart quiet even when
		// the recovered one is revoked.
		h.newToken("operator", "")
	})
	if !ok {
		return
	}

	t.Run("restart with a usable operator token", func(t *testing.T) {
		h := in.serve(t)
		if h.operator != "" {
			t.Error("restart printed an operator token although one is usable")
		}
		h.must(200, "GET", "/api/v1/whoami", recovered, nil)
	})
}

// TestReplicas runs two servers on one PostgreSQL schema, started one after
// the other and at once.
func TestReplicas(t *testing.T) {
	t.Run("one after the other", func(t *testing.T) {
		db, kek := pgtest.Schema(t), newKEKFile(t)
		a := newInstallation(t, db, "--kek-file", kek).serve(t)
		b := newInstallation(t, db, "--kek-file", kek).serve(t)
		if a.operator == "" || b.operator != "" {
			t.Fatalf("operator tokens printed: %q then %q, want one by the first", a.operator,
				b.operator)
		}
		b.operator = a.operator
		checkReplicas(t, a, b)
	})

	t.Run("at once", func(t *testing.T) {
		// Several rounds, as the servers race differently each time.
		for round := range 3 {
			t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
				db, kek := pgtest.Schema(t), newKEKFile(t)
				ins := []*installation{newInstallation(t, db, "--kek-file", kek),
					newInstallation(t, db, "--kek-file", kek)}
				hs := startTogether(t, ins)
				checkReplicas(t, hs[0], hs[1])
			})
		}
	})

	t.Run("different KEKs", func(t *testing.T) {
		db := pgtest.Schema(t)
		newInstallation(t, db).serve(t)
		_, err := newInstallation(t, db).open()
		if err == nil || !strings.Contains(err.Error(), "key-encryption key") {
			t.Fatalf("second replica with its own KEK: err = %v, want one about the "+
				"key-encryption key", err)
		}
	})
}

// startTogether opens servers on the installations at once, then serves
// them. A server that printed no operator token gets another's. It fails
// the test unless every server starts.
func startTogether(t *testing.T, ins []*installation) []*harness {
	t.Helper()
	type opened struct {
		sys *system
		out string
		err error
	}
	res := make([]opened, len(ins))
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for i, in := range ins {
		wg.Go(func() {
			<-begin
			sys, out, err := openArgs(in.args)
			res[i] = opened{sys, out, err}
		})
	}
	close(begin)
	wg.Wait()

	var operator string
	for i, r := range res {
		if r.err != nil {
			t.Errorf("open server %d: %v", i, r.err)
			continue
		}
		for _, tok := range tokens(r.out) {
			operator = tok
		}
	}
	if t.Failed() {
		for _, r := range res {
			if r.sys != nil {
				r.sys.Close()
			}
		}
		t.FailNow()
	}
	hs := make([]*harness, len(ins))
	for i, r := range res {
		addrs, err := serveSys(t, r.sys)
		if err != nil {
			t.Fatalf("serve server %d: %v", i, err)
		}
		hs[i] = harnessFor(t, r.sys, addrs, tokenRE.FindString(r.out), nil)
		if hs[i].operator != "" {
			hs[i].must(200, "GET", "/api/v1/whoami", hs[i].operator, nil)
		}
		if hs[i].operator == "" {
			hs[i].operator = operator
		}
	}
	if operator == "" {
		t.Fatal("no server printed an operator token")
	}
	return hs
}

// checkReplicas checks that two servers on one database act as one.
func checkReplicas(t *testing.T, a, b *harness) {
	t.Helper()
	ctx := context.Background()
	for _, kind := range []store.CAKind{store.KindRoot, store.KindIntermediate} {
		cas, err := a.sys.store.ListCAs(ctx, kind, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(cas) != 1 {
			t.Errorf("%d %s CAs, want 1", len(cas), kind)
		}
	}

	// Each server made sure an operator token exists; together they must
	// have made one, as one server would.
	ts, err := a.sys.store.ListTokens(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Role != store.RoleOperator {
		var got []string
		for _, tok := range ts {
			got = append(got, string(tok.Role)+" "+tok.Name)
		}
		t.Errorf("tokens after the servers started: %q, want one operator token", got)
	}

	tenantID, admin := a.createTenant("acme")
	base := "/api/v1/tenants/" + tenantID + "/certificates/active/chain"
	chainA := a.must(200, "GET", base, admin, nil).body
	chainB := b.must(200, "GET", base, admin, nil).body
	if !bytes.Equal(chainA, chainB) {
		t.Error("the servers serve different tenant CA chains")
	}
	_, proofPEM := proof(b, tenantID, admin)
	verifyProof(t, chainA, proofPEM)

	mfg := b.newToken("manufacturer", "")
	dev := newDeviceID(t)
	r := b.callType("POST", "/api/v1/devices", mfg, "text/csv", "device_id\n"+dev+"\n")
	if r.status != 200 {
		t.Fatalf("register on b = %d %s", r.status, r.body)
	}
	a.must(201, "POST", "/api/v1/tenants/"+tenantID+"/devices/"+dev+"/claim", admin, nil)
	var d struct {
		TenantID string `json:"tenant_id"`
	}
	b.must(200, "GET", "/api/v1/tenants/"+tenantID+"/devices/"+dev, admin, nil).json(t, &d)
	if d.TenantID != tenantID {
		t.Errorf("b sees the device with tenant %q, want %q", d.TenantID, tenantID)
	}
	otherID, otherAdmin := b.createTenant("globex")
	r = b.call("POST", "/api/v1/tenants/"+otherID+"/devices/"+dev+"/claim", otherAdmin, nil)
	if r.status != 409 || r.code() != "device_claimed" {
		t.Errorf("claim on b of a device claimed on a = %d %s, want 409 device_claimed",
			r.status, r.body)
	}
}
