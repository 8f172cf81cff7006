package server

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hallmark-project/hallmark/internal/cli"
	"github.com/hallmark-project/hallmark/internal/cli/devicecmd"
)

var registerDeviceCommands = sync.OnceFunc(devicecmd.Register)

// agentCLI runs a device-side command of the CLI.
func agentCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errw bytes.Buffer
	code = cli.Main(context.Background(), args, strings.NewReader(""), &out, &errw)
	return out.String(), errw.String(), code
}

func agentOK(t *testing.T, args ...string) string {
	t.Helper()
	out, errw, code := agentCLI(t, args...)
	if code != 0 {
		t.Fatalf("hallmark %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errw)
	}
	return out
}

// TestAgentCLI runs the device side from the command line against the real
// DAA: make a key, get registered and claimed, attest, inspect the result.
func TestAgentCLI(t *testing.T) {
	registerDeviceCommands()
	h := start(t, "sqlite")
	f := newFleet(t, h)
	dir := t.TempDir()
	key := filepath.Join(dir, "device.key")

	id := strings.TrimSpace(agentOK(t, "device", "keygen", "--key", key))
	if again := strings.TrimSpace(agentOK(t, "agent", "id", "--key", key)); again != id {
		t.Fatalf("agent id = %s, device keygen printed %s", again, id)
	}
	r := h.callType("POST", "/api/v1/devices", f.mfg, "text/csv", "device_id\n"+id+"\n")
	if r.status != 200 {
		t.Fatalf("register %q = %d %s", id, r.status, r.body)
	}
	h.must(201, "POST", "/api/v1/tenants/"+f.tenantID+"/devices/"+id+"/claim", f.admin, nil)

	manifest := filepath.Join(dir, "boot.json")
	writeManifest := func(kernelVersion string, svn int) {
		k := comp("kernel", kernelVersion, uint64(svn))
		l := comp("loader", "1.1", 2)
		doc := `{"components":[{"name":"loader","version":"1.1","svn":2,"digest":"` +
			hexOf(l) + `"},{"name":"kernel","version":"` + kernelVersion + `","svn":` +
			strconv.Itoa(svn) + `,"digest":"` + hexOf(k) + `"}]}`
		if err := os.WriteFile(manifest, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeManifest("1.0", 3)
	out := filepath.Join(dir, "creds")
	daaArgs := []string{"--key", key, "--manifest", manifest, "--out", out, "--server", h.daa,
		"--ca-file", filepath.Join(h.dataDir, AdminCertFile)}
	agentOK(t, append([]string{"agent", "attest"}, daaArgs...)...)

	text := agentOK(t, "cert", "inspect", filepath.Join(out, "cert.pem"))
	for _, want := range []string{id, "affirming", "kernel", "1.0"} {
		if !strings.Contains(text, want) {
			t.Errorf("cert inspect lacks %q:\n%s", want, text)
		}
	}

	// Booting the revoked kernel is refused, with the reason on stderr.
	writeManifest("2.0-rc", 4)
	_, errw, code := agentCLI(t, append([]string{"agent", "attest"}, daaArgs...)...)
	if code != 1 || !strings.Contains(errw, "software_revoked") {
		t.Fatalf("attest with a revoked kernel: exit %d\n%s", code, errw)
	}
}
