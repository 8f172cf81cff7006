package server

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/internal/cli"
)

// hallmark runs the CLI against the harness's server with a token.
func (h *harness) hallmark(token string, args ...string) (stdout, stderr string, code int) {
	h.t.Helper()
	common := []string{"--server", h.admin, "--ca-file",
		filepath.Join(h.dataDir, AdminCertFile), "--token", token}
	// Flags may follow the arguments; the CLI reorders them.
	full := append(append([]string{}, args...), common...)
	var out, errw bytes.Buffer
	code = cli.Main(context.Background(), full, strings.NewReader(""), &out, &errw)
	return out.String(), errw.String(), code
}

func (h *harness) hallmarkOK(token string, args ...string) string {
	h.t.Helper()
	out, errw, code := h.hallmark(token, args...)
	if code != 0 {
		h.t.Fatalf("hallmark %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errw)
	}
	return out
}

// TestCLIFlow runs the README's walkthrough with the real CLI against the
// real server: tenant, tokens, registration, claim, chain and proof.
func TestCLIFlow(t *testing.T) {
	h := start(t, "sqlite")
	op := h.operator

	var tn struct{ ID string }
	if err := json.Unmarshal([]byte(h.hallmarkOK(op, "tenant", "create", "acme", "--output",
		"json")), &tn); err != nil {
		t.Fatal(err)
	}
	var admin, mfg struct{ Secret string }
	json.Unmarshal([]byte(h.hallmarkOK(op, "token", "create", "--role", "tenant-admin",
		"--tenant", tn.ID, "--output", "json")), &admin)
	json.Unmarshal([]byte(h.hallmarkOK(op, "token", "create", "--role", "manufacturer",
		"--output", "json")), &mfg)
	if admin.Secret == "" || mfg.Secret == "" {
		t.Fatal("token create printed no secret")
	}

	dev := newDeviceID(t)
	dir := t.TempDir()
	batch := filepath.Join(dir, "devices.csv")
	os.WriteFile(batch, []byte("device_id\n"+dev+"\n"), 0o600)
	h.hallmarkOK(mfg.Secret, "device", "register", batch)

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"device_id":"`+dev+`"}`+"\n"+`{"device_id":"abc"}`+"\n"), 0o600)
	_, errw, code := h.hallmark(mfg.Secret, "device", "register", bad)
	if code != 1 || !strings.Contains(errw, "hallmark: error: invalid_batch") ||
		!strings.Contains(errw, "line 2: invalid_length") {
		t.Fatalf("bad batch: exit %d, stderr:\n%s", code, errw)
	}

	out := h.hallmarkOK(admin.Secret, "device", "claim", dev)
	if !strings.Contains(out, "claimed") {
		t.Errorf("claim printed %q", out)
	}
	if out := h.hallmarkOK(admin.Secret, "device", "list"); !strings.Contains(out, dev) {
		t.Errorf("device list lacks the claimed device:\n%s", out)
	}
	if out := h.hallmarkOK(admin.Secret, "ca", "list"); !strings.Contains(out, "active") {
		t.Errorf("ca list:\n%s", out)
	}

	chain := filepath.Join(dir, "chain.pem")
	p7 := filepath.Join(dir, "chain.p7b")
	proof := filepath.Join(dir, "proof.pem")
	h.hallmarkOK(admin.Secret, "ca", "download-chain", "--out", chain)
	h.hallmarkOK(admin.Secret, "ca", "download-chain", "--format", "pkcs7", "--out", p7)
	h.hallmarkOK(admin.Secret, "ca", "download-proof", "--verification-code", "0A1B2C3D4E5F",
		"--out", proof)

	pemData, _ := os.ReadFile(chain)
	certs := splitPEM(t, pemData)
	root := writeTemp(t, "root.pem", certs[2])
	untrusted := writeTemp(t, "untrusted.pem", append(append([]byte{}, certs[0]...),
		certs[1]...))
	if out, err := openssl(t, "verify", "-CAfile", root, "-untrusted", untrusted,
		proof); err != nil {
		t.Fatalf("openssl verify proof: %v\n%s", err, out)
	}
	if out, err := openssl(t, "pkcs7", "-inform", "DER", "-in", p7, "-print_certs",
		"-noout"); err != nil || strings.Count(out, "subject=") != 3 {
		t.Fatalf("openssl pkcs7: %v\n%s", err, out)
	}

	// Errors print as hallmark: error: with a hint.
	_, errw, code = h.hallmark(admin.Secret, "tenant", "create", "evil")
	if code != 1 || !strings.HasPrefix(errw, "hallmark: error: forbidden") {
		t.Errorf("tenant admin creating a tenant: exit %d\n%s", code, errw)
	}
	_, errw, code = h.hallmark("hm_notatoken", "whoami")
	if code != 1 || !strings.Contains(errw, "hallmark: hint:") {
		t.Errorf("malformed token: exit %d\n%s", code, errw)
	}
}
