package server

import (
	"bufio"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/store/pgtest"
)

// buildHallmark builds the hallmark binary once per test run.
var buildHallmark = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hallmark-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hallmark")
	out, err := exec.Command("go", "build", "-o", bin,
		"github.com/hallmark-project/hallmark/cmd/hallmark").CombinedOutput()
	if err != nil {
		return "", &buildError{string(out), err}
	}
	return bin, nil
})

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

// process is a `hallmark serve` running as a process of its own.
type process struct {
	admin, daa string
	certFile   string
	operator   string
}

// startProcess runs hallmark serve on the database with a fresh data
// directory and returns once it listens. It is stopped when the test ends.
func startProcess(t *testing.T, database, kek string) *process {
	t.Helper()
	bin, err := buildHallmark()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--data-dir", dir, "--database", database,
		"--admin-addr", "127.0.0.1:0", "--daa-addr", "127.0.0.1:0", "--pki-addr", "",
		"--metrics-addr", "", "--log-format", "json", "--device-rate", "0")
	cmd.Env = append(os.Environ(), "HALLMARK_KEK="+kek)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Error("hallmark serve did not stop on interrupt")
		}
	})

	p := &process{certFile: filepath.Join(dir, AdminCertFile)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if tok := tokenRE.FindString(line); tok != "" && p.operator == "" {
				p.operator = tok
			}
			var rec struct{ Msg, Service, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				switch rec.Service {
				case "admin":
					p.admin = "https://" + rec.Addr
				case "daa":
					p.daa = "https://" + rec.Addr
				}
				if p.admin != "" && p.daa != "" {
					close(ready)
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("hallmark serve did not start listening")
	}
	return p
}

// TestReplayAcrossProcesses runs two hallmark processes on one PostgreSQL
// database: an attestation accepted by one is refused by the other, and
// the same attestation sent to both at once is accepted exactly once.
func TestReplayAcrossProcesses(t *testing.T) {
	dsn := pgtest.Schema(t)
	kekBytes := make([]byte, 32) // test KEK
	rand.Read(kekBytes)
	kek := hex.EncodeToString(kekBytes)
	a := startProcess(t, dsn, kek)
	b := startProcess(t, dsn, kek)
	if a.operator == "" || b.operator != "" {
		t.Fatalf("operator token printed by first %v, second %v; want first only",
			a.operator != "", b.operator != "")
	}

	pool := x509.NewCertPool()
	for _, f := range []string{a.certFile, b.certFile} {
		pem, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pool.AppendCertsFromPEM(pem)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	ha := &harness{t: t, admin: a.admin, daa: a.daa, client: client, operator: a.operator}
	hb := &harness{t: t, admin: b.admin, daa: b.daa, client: client, operator: a.operator}

	f := newFleet(t, ha)
	d := f.enroll(t, true)

	req := attempt{signer: d.key, nonce: ha.challenge(t, d.id), boot: goodBoot}.request(t)
	if r := ha.daaCall(wire.AttestationsPath, req); r.status != 201 {
		t.Fatalf("attest at A = %d %s", r.status, r.body)
	}
	if r := hb.daaCall(wire.AttestationsPath, req); r.status != 400 ||
		r.code() != "nonce_reused" {
		t.Fatalf("replay at B = %d %s, want 400 nonce_reused", r.status, r.body)
	}

	// The same attestation at both replicas at once: exactly one wins.
	for round := range 5 {
		req := attempt{signer: d.key, nonce: hb.challenge(t, d.id), boot: goodBoot}.request(t)
		var wg sync.WaitGroup
		results := make([]response, 2)
		for i, h := range []*harness{ha, hb} {
			wg.Go(func() { results[i] = h.daaCall(wire.AttestationsPath, req) })
		}
		wg.Wait()
		var codes []string
		for _, r := range results {
			if r.status == 201 {
				codes = append(codes, "issued")
			} else {
				codes = append(codes, r.code())
			}
		}
		got := strings.Join(codes, ",")
		if got != "issued,nonce_reused" && got != "nonce_reused,issued" {
			t.Fatalf("round %d: replicas answered %s, want one issued and one nonce_reused",
				round, got)
		}
	}
}
