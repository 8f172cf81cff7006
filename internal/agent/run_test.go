package agent

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/agent/agenttest"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
)

// runner is a Run under test: a fake DAA, a device with a manifest, and a
// clock that stands still while Sleep records each wait.
type runner struct {
	t        *testing.T
	daa      *agenttest.DAA
	cfg      RunConfig
	manifest string
	kernel   string // a measured file of the manifest
	log      bytes.Buffer

	mu       sync.Mutex
	renewAts []time.Time // RenewAt of each answer; guarded by mu
}

// epoch is the injected clock's time; the fake DAA issues on the real clock.
var epoch = time.Now()

func newRunner(t *testing.T) *runner {
	r := &runner{t: t, daa: newDAA(t)}
	dir := t.TempDir()
	r.kernel = filepath.Join(dir, "kernel.img")
	writeFile(t, r.kernel, "kernel 1", 0o644)
	r.manifest = filepath.Join(dir, "boot.json")
	writeFile(t, r.manifest, `{"components": [`+
		`{"name": "kernel", "version": "6.1", "svn": 7, "file": "kernel.img"}]}`, 0o644)

	// Each answer asks for renewal two hours into the certificate.
	r.daa.SetAnswering(func(a *wire.AttestationResponse) {
		a.RenewAt = a.NotBefore.Add(2 * time.Hour)
		r.mu.Lock()
		r.renewAts = append(r.renewAts, a.RenewAt)
		r.mu.Unlock()
	})
	rot, _, err := LoadKeyFile(newKeyFile(t))
	if err != nil {
		t.Fatal(err)
	}
	r.cfg = RunConfig{
		Client:       newClient(t, r.daa),
		RootOfTrust:  rot,
		ManifestPath: r.manifest,
		Dir:          filepath.Join(dir, "creds"),
		Logger:       slog.New(slog.NewTextHandler(&r.log, nil)),
		MinBackoff:   time.Second,
		MaxBackoff:   4 * time.Second,
		Now:          func() time.Time { return epoch },
	}
	return r
}

// run runs the agent; sleep sees each wait and its index, and returns
// whether to go on.
func (r *runner) run(sleep func(i int, d time.Duration) bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	i := 0
	r.cfg.Sleep = func(ctx context.Context, d time.Duration) error {
		if !sleep(i, d) {
			cancel()
			return ctx.Err()
		}
		i++
		return nil
	}
	if err := Run(ctx, r.cfg); err != nil {
		r.t.Fatalf("Run: %v", err)
	}
}

func (r *runner) renewAt(i int) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.renewAts[i]
}

func TestRunRenews(t *testing.T) {
	r := newRunner(t)
	var waits []time.Duration
	r.run(func(i int, d time.Duration) bool {
		if want := r.renewAt(i).Sub(epoch); d != want {
			t.Errorf("wait %d is %v, want until RenewAt, %v", i, d, want)
		}
		waits = append(waits, d)
		// The device boots other software before the next attestation.
		writeFile(t, r.kernel, "kernel "+string(rune('2'+i)), 0o644)
		return i < 2
	})

	accepted := r.daa.Accepted()
	if len(accepted) != 3 || len(waits) != 3 {
		t.Fatalf("%d attestations and %d waits, want 3 of each", len(accepted), len(waits))
	}
	if accepted[0].Components[0].Digest == accepted[1].Components[0].Digest {
		t.Error("the manifest was not measured again before the second attestation")
	}
	cert := readFile(t, filepath.Join(r.cfg.Dir, CertFile))
	if len(cert) == 0 {
		t.Error("no certificate written")
	}
	if n := strings.Count(r.log.String(), "credentials renewed"); n != 3 {
		t.Errorf("log has %d renewals, want 3:\n%s", n, r.log.String())
	}
}

// TestRunBacksOff fails four attempts, succeeds once, then fails again: the
// waits double up to MaxBackoff, each in its upper half, and start again
// from MinBackoff after the success.
func TestRunBacksOff(t *testing.T) {
	r := newRunner(t)
	var mu sync.Mutex
	failing := true // guarded by mu
	r.daa.SetHook(func(w http.ResponseWriter, req *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		if !failing {
			return false
		}
		return answer(wire.ChallengesPath, 503, nil,
			`{"error":{"code":"unavailable","message":"try later"}}`)(w, req)
	})

	ceilings := []time.Duration{1, 2, 4, 4, 0, 1}
	r.run(func(i int, d time.Duration) bool {
		if ceil := ceilings[i] * time.Second; ceil == 0 {
			if want := r.renewAt(0).Sub(epoch); d != want {
				t.Errorf("wait %d after the success is %v, want %v", i, d, want)
			}
		} else if d < ceil/2 || d > ceil {
			t.Errorf("wait %d is %v, want %v to %v", i, d, ceil/2, ceil)
		}
		mu.Lock()
		failing = i != 3 // the fifth attempt succeeds
		mu.Unlock()
		return i < len(ceilings)-1
	})
	if n := strings.Count(r.log.String(), "attestation failed"); n != 5 {
		t.Errorf("log has %d failures, want 5:\n%s", n, r.log.String())
	}
}

func TestRunHonoursRetryAfter(t *testing.T) {
	r := newRunner(t)
	r.daa.SetHook(answer(wire.ChallengesPath, 429, map[string]string{"Retry-After": "120"},
		`{"error":{"code":"rate_limited","message":"retry later"}}`))
	r.run(func(i int, d time.Duration) bool {
		if d != 2*time.Minute {
			t.Errorf("wait %d is %v, want Retry-After's 2m0s", i, d)
		}
		return false
	})
}

func TestRunRetriesBadManifest(t *testing.T) {
	r := newRunner(t)
	if err := os.Remove(r.manifest); err != nil {
		t.Fatal(err)
	}
	r.run(func(i int, d time.Duration) bool {
		if i == 0 {
			writeFile(t, r.manifest, `{"components": [`+
				`{"name": "kernel", "version": "6.1", "svn": 7, "file": "kernel.img"}]}`, 0o644)
		}
		return i == 0
	})
	if n := len(r.daa.Accepted()); n != 1 {
		t.Errorf("%d attestations, want 1 once the manifest is back", n)
	}
	if !strings.Contains(r.log.String(), "no such file") {
		t.Errorf("the log does not say why the first attempt failed:\n%s", r.log.String())
	}
}

// TestRunStops cancels a Run that waits on its own timer.
func TestRunStops(t *testing.T) {
	r := newRunner(t)
	r.cfg.Now = nil
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, r.cfg) }()

	for len(r.daa.Accepted()) == 0 {
		select {
		case err := <-done:
			t.Fatalf("Run returned before attesting: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v, want nil after cancel", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop after its context ended")
	}
}

func TestRunConfigErrors(t *testing.T) {
	r := newRunner(t)
	for _, tc := range []struct {
		name   string
		change func(*RunConfig)
		want   string
	}{
		{"no client", func(c *RunConfig) { c.Client = nil }, "no DAA client"},
		{"no root of trust", func(c *RunConfig) { c.RootOfTrust = nil }, "no root of trust"},
		{"no manifest", func(c *RunConfig) { c.ManifestPath = "" }, "no manifest"},
		{"no dir", func(c *RunConfig) { c.Dir = "" }, "no credentials directory"},
		{"negative backoff", func(c *RunConfig) { c.MinBackoff = -1 }, "negative backoff"},
		{"min above max", func(c *RunConfig) { c.MinBackoff = time.Hour }, "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := r.cfg
			tc.change(&cfg)
			err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if n := len(r.daa.Accepted()); n != 0 {
		t.Errorf("a misconfigured Run attested %d times", n)
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	r := newRunner(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.cfg.Sleep = func(context.Context, time.Duration) error {
		return errors.New("Run slept after its context ended")
	}
	if err := Run(ctx, r.cfg); err != nil {
		t.Errorf("Run: %v, want nil", err)
	}
}
