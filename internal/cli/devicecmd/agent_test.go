package devicecmd

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/agent"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
)

const bootManifest = `{"components": [
	{"name": "loader", "version": "1.1", "svn": 2,
	 "digest": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"},
	{"name": "kernel", "version": "6.1", "svn": 7, "file": "kernel.img"}
]}`

// testDevice is a key file and a manifest for the agent commands.
type testDevice struct {
	key, manifest, out string
}

func newDevice(t *testing.T) testDevice {
	t.Helper()
	dir := t.TempDir()
	d := testDevice{key: filepath.Join(dir, "device.pem"),
		manifest: filepath.Join(dir, "boot.json"), out: filepath.Join(dir, "creds")}
	run(t, nil, "agent", "keygen", "--key", d.key).ok(t)
	writeFile(t, d.manifest, bootManifest)
	writeFile(t, filepath.Join(dir, "kernel.img"), "kernel 6.1")
	return d
}

func (d testDevice) args(cmd string, more ...string) []string {
	return append([]string{"agent", cmd, "--key", d.key, "--manifest", d.manifest,
		"--out", d.out}, more...)
}

func TestAttest(t *testing.T) {
	daa, caFile := newDAA(t)
	dev := newDevice(t)
	r := run(t, nil, dev.args("attest", "--server", daa.URL, "--ca-file", caFile)...)
	r.ok(t)
	for _, want := range []string{"verdict    affirming", "renew at",
		filepath.Join(dev.out, "fullchain.pem")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output does not contain %q:\n%s", want, r.stdout)
		}
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dev.out, agent.FullChainFile),
		filepath.Join(dev.out, agent.KeyFile)); err != nil {
		t.Errorf("the written credentials do not load: %v", err)
	}
}

// TestAttestEnvironment gives the server and the CA file in the environment,
// then the CA file as the server's certificate in the data directory.
func TestAttestEnvironment(t *testing.T) {
	daa, caFile := newDAA(t)
	dev := newDevice(t)
	run(t, map[string]string{"HALLMARK_DAA_SERVER": daa.URL, "HALLMARK_CA_FILE": caFile},
		dev.args("attest")...).ok(t)

	data := t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "tls"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(data, "tls", "admin.crt"), pemCert(daa.TLSCertificate.Raw))
	run(t, map[string]string{"HALLMARK_DAA_SERVER": daa.URL, "HALLMARK_DATA_DIR": data},
		dev.args("attest")...).ok(t)
	run(t, nil, dev.args("attest", "--server", daa.URL, "--data-dir", data)...).ok(t)
}

func TestAttestRefused(t *testing.T) {
	dev := newDevice(t)
	for _, tc := range []struct {
		name, path string
		status     int
		header     map[string]string
		body       string
		want, hint string
	}{
		{"revoked software", wire.AttestationsPath, 403, nil,
			`{"error":{"code":"software_revoked","message":"the measured boot is not trusted",` +
				`"components":[{"name":"loader","version":"1.1","verdict":"contraindicated",` +
				`"reason":"revoked"}]}}`,
			"software_revoked: the measured boot is not trusted (HTTP 403)\n" +
				"  component loader 1.1: contraindicated (revoked)",
			"add it to the catalogue"},
		{"unregistered", wire.ChallengesPath, 404, nil,
			`{"error":{"code":"unknown_device","message":"the device is not registered"}}`,
			"unknown_device", "hallmark device register"},
		{"unclaimed", wire.AttestationsPath, 403, nil,
			`{"error":{"code":"device_unclaimed","message":"not claimed"}}`,
			"device_unclaimed", "hallmark device claim "},
		{"blocked", wire.ChallengesPath, 403, nil,
			`{"error":{"code":"device_blocked","message":"the device is blocked"}}`,
			"device_blocked", "hallmark device unblock "},
		{"nonce", wire.AttestationsPath, 400, nil,
			`{"error":{"code":"nonce_expired","message":"the nonce has expired"}}`,
			"nonce_expired", "try again"},
		{"rate limited", wire.ChallengesPath, 429, map[string]string{"Retry-After": "7"},
			`{"error":{"code":"rate_limited","message":"too many requests"}}`,
			"rate_limited", "try again in 7s"},
		{"internal", wire.AttestationsPath, 500, nil,
			`{"error":{"code":"internal","message":"the service failed"}}`,
			"internal", "see the server's log"},
		{"not the DAA", wire.ChallengesPath, 404, nil, `404 page not found`,
			"HTTP 404 Not Found", "not the admin API"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			daa, caFile := newDAA(t)
			daa.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != tc.path {
					return false
				}
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
				return true
			})
			r := run(t, nil, dev.args("attest", "--server", daa.URL, "--ca-file", caFile)...)
			r.wantError(t, tc.want, tc.hint)
		})
	}
}

func TestAttestConnectionErrors(t *testing.T) {
	dev := newDevice(t)
	daa, _ := newDAA(t)
	t.Run("untrusted", func(t *testing.T) {
		// An empty data directory: no CA file, so the system's roots.
		r := run(t, nil, dev.args("attest", "--server", daa.URL,
			"--data-dir", t.TempDir())...)
		r.wantError(t, "certificate", "--ca-file")
	})
	t.Run("refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		r := run(t, nil, dev.args("attest", "--server", "https://"+addr,
			"--data-dir", t.TempDir())...)
		r.wantError(t, "connection refused", "is 'hallmark serve' running?")
	})
}

func TestAttestSetupErrors(t *testing.T) {
	daa, caFile := newDAA(t)
	dev := newDevice(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	writeFile(t, notPEM, "not a certificate")
	badManifest := filepath.Join(t.TempDir(), "boot.json")
	writeFile(t, badManifest, `{"components": []}`)
	noDir := filepath.Join(t.TempDir(), "file")
	writeFile(t, noDir, "x")
	for _, tc := range []struct {
		name       string
		args       []string
		want, hint string
	}{
		{"missing CA file", dev.args("attest", "--server", daa.URL,
			"--ca-file", filepath.Join(t.TempDir(), "absent.crt")), "read CA file",
			"--ca-file"},
		{"CA file not PEM", dev.args("attest", "--server", daa.URL, "--ca-file", notPEM),
			"no PEM certificate", "--ca-file"},
		{"bad manifest", append(dev.args("attest", "--server", daa.URL,
			"--ca-file", caFile), "--manifest", badManifest), "1 to 64 entries",
			"manifest format"},
		{"missing key", append(dev.args("run", "--server", daa.URL, "--ca-file", caFile),
			"--key", filepath.Join(t.TempDir(), "absent.pem")), "no such file",
			"agent keygen"},
		{"out is a file", append(dev.args("attest", "--server", daa.URL,
			"--ca-file", caFile), "--out", noDir), "write credentials", "--out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run(t, nil, tc.args...).wantError(t, tc.want, tc.hint)
		})
	}
}

// TestRun runs the agent until it has written credentials, then stops it.
func TestRun(t *testing.T) {
	daa, caFile := newDAA(t)
	dev := newDevice(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() {
		done <- runCtx(ctx, t, nil, dev.args("run", "--server", daa.URL,
			"--ca-file", caFile)...)
	}()
	for {
		if _, err := os.Stat(filepath.Join(dev.out, agent.FullChainFile)); err == nil {
			break
		}
		select {
		case r := <-done:
			t.Fatalf("run ended before attesting: %v\n%s", r.err, r.stderr)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop when its context ended")
	}
	r.ok(t)
	if !strings.Contains(r.stderr, `"msg":"credentials renewed"`) {
		t.Errorf("the log does not show the renewal:\n%s", r.stderr)
	}
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
