package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/cli"
)

// runFake runs loadgen with c and returns its JSON report and its stderr.
func runFake(t *testing.T, c *config) (report, string) {
	t.Helper()
	c.output = "json"
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), c, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, stderr.String())
	}
	var r report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, stdout.String())
	}
	return r, stderr.String()
}

// checkTornDown checks that the run published its catalogue, then the
// previous one again, and revoked both of its tokens.
func checkTornDown(t *testing.T, f *fakeServer) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []string{string(catalogueJSON()), `{"components":[]}`}
	var got []string
	for _, p := range f.published {
		got = append(got, string(p))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("catalogue publications (-want +got):\n%s", diff)
	}
	if len(f.revoked) != 2 {
		t.Errorf("revoked tokens %v, want the two loadgen made", f.revoked)
	}
}

func TestRunAgainstFake(t *testing.T) {
	f := newFakeServer(t)
	c := f.config()
	c.check = true
	c.metricsURL = f.srv.URL + "/metrics"
	r, _ := runFake(t, c)

	if !strings.HasPrefix(r.Tenant, "loadgen-") {
		t.Errorf("tenant %q, want loadgen-...", r.Tenant)
	}
	got := []int{r.Devices, r.Concurrency, r.Attestations, r.Warmup, r.WarmupErrors,
		len(r.Errors), r.Bound.ServerCores}
	if diff := cmp.Diff([]int{6, 3, 24, 3, 0, 0, 2}, got); diff != "" {
		t.Errorf("devices, concurrency, attestations, warm-up, warm-up errors, errors, "+
			"server cores (-want +got):\n%s", diff)
	}
	for name, v := range map[string]float64{"throughput": r.PerSecond,
		"elapsed": r.Elapsed, "p50": r.LatencyMS.P50, "max": r.LatencyMS.Max,
		"bound": r.Bound.PerSecond, "ratio": r.Ratio, "bound total": r.Bound.TotalUS} {
		if !(v > 0) {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	if r.LatencyMS.P50 > r.LatencyMS.P99 || r.LatencyMS.P99 > r.LatencyMS.Max {
		t.Errorf("latencies out of order: %+v", r.LatencyMS)
	}
	if r.ClientCPU < 0 || r.ClientCPUPerAttestation < 0 {
		t.Errorf("client CPU %v s, %v µs per attestation", r.ClientCPU,
			r.ClientCPUPerAttestation)
	}
	if r.PeakRSS == nil || *r.PeakRSS < 1<<20 || r.RSSSamples < 1 {
		t.Errorf("peak RSS %v from %d samples, want at least 1 MiB", r.PeakRSS, r.RSSSamples)
	}

	f.mu.Lock()
	// The first attestation, the warm-up and the load.
	if f.issued != 1+3+24 || len(f.devices) != 6 {
		t.Errorf("fake issued %d certificates to %d devices, want 28 to 6", f.issued,
			len(f.devices))
	}
	for id, tenant := range f.devices {
		if tenant == "" {
			t.Errorf("device %s was not claimed", id[:8])
		}
	}
	f.mu.Unlock()
	checkTornDown(t, f)
}

func TestRunTextReport(t *testing.T) {
	f := newFakeServer(t)
	c := f.config()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), c, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	for _, want := range []string{"throughput", "p99", "bound per core", "evidence verify",
		"on 2 server cores", "ratio", "client cores", "24, after 3 of warm-up (0 failed)"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}
	if !strings.Contains(stderr.String(), "replaces the server's") {
		t.Errorf("progress does not warn that the catalogue is replaced:\n%s", stderr.String())
	}
}

func TestRunCountsRefusals(t *testing.T) {
	f := newFakeServer(t)
	f.refuseEvery = 5 // attempts 5, 10, 15, 20 and 25 fall in the measured 5 to 28
	r, _ := runFake(t, f.config())
	if diff := cmp.Diff(map[string]int{"attestation/software_revoked": 5}, r.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if r.Attestations != 19 {
		t.Errorf("%d attestations succeeded, want 19", r.Attestations)
	}
	checkTornDown(t, f)
}

func TestRunRateLimited(t *testing.T) {
	f := newFakeServer(t)
	f.rateLimit = 10 // 1 first attestation, 3 of warm-up, 6 of the load
	r, stderr := runFake(t, f.config())
	if diff := cmp.Diff(map[string]int{"challenge/rate_limited": 18}, r.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if r.Attestations != 6 {
		t.Errorf("%d attestations succeeded, want 6", r.Attestations)
	}
	if !strings.Contains(stderr, "--device-rate 0") {
		t.Errorf("no hint about the rate limit:\n%s", stderr)
	}
}

func TestRunDuration(t *testing.T) {
	f := newFakeServer(t)
	c := f.config()
	c.duration = 100 * time.Millisecond
	r, _ := runFake(t, c)
	if r.Attestations < 1 || len(r.Errors) != 0 {
		t.Errorf("%d attestations and errors %v, want some and none", r.Attestations,
			r.Errors)
	}
}

func TestRunFailures(t *testing.T) {
	f := newFakeServer(t)
	otherCA := filepath.Join(t.TempDir(), "other.crt")
	err := os.WriteFile(otherCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE",
		Bytes: f.caCert.Raw}), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		change   func(c *config)
		wantMsg  string
		wantHint string
		tornDown bool // setup published the catalogue; else it changed nothing
	}{
		{"wrong token", func(c *config) { c.token = "hm_wrong" },
			"create tenant", "check --token or HALLMARK_TOKEN", false},
		{"untrusted server", func(c *config) { c.caFile = otherCA },
			"certificate", "pass --ca-file", false},
		{"missing CA file", func(c *config) { c.caFile = filepath.Join(t.TempDir(), "x") },
			"read CA file", "check --ca-file", false},
		{"CA file not PEM", func(c *config) { c.caFile = notPEM },
			"no PEM certificate", "check --ca-file", false},
		{"no DAA there", func(c *config) { c.daaURL = f.srv.URL + "/nowhere" },
			"first attestation: challenge/http_404", "", true},
		{"no metrics there", func(c *config) { c.metricsURL = f.srv.URL + "/nometrics" },
			"read the server's memory", "--metrics takes", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.published, f.revoked = nil, nil
			f.mu.Unlock()
			c := f.config()
			tt.change(c)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), c, &stdout, &stderr)
			var ce *cli.Error
			if !errors.As(err, &ce) {
				t.Fatalf("run: %v, want a *cli.Error", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantMsg)
			}
			if !strings.Contains(ce.Hint, tt.wantHint) {
				t.Errorf("hint %q, want it to contain %q", ce.Hint, tt.wantHint)
			}
			if stdout.Len() != 0 {
				t.Errorf("a failed run printed a report:\n%s", stdout.String())
			}
			if tt.tornDown {
				checkTornDown(t, f)
				return
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.published) != 0 || len(f.secrets) != 1 {
				t.Errorf("a run that failed before setup published %d catalogues and "+
					"left %d tokens", len(f.published), len(f.secrets))
			}
		})
	}
}

func TestRunInterrupted(t *testing.T) {
	f := newFakeServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, f.config(), &stdout, &stderr)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("run with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestRunSetupFails(t *testing.T) {
	f := newFakeServer(t)
	f.failClaims = true
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), f.config(), &stdout, &stderr)
	var ce *cli.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "claim devices") ||
		ce.Hint != "a hint from the fake" {
		t.Fatalf("run: %#v, want the claim's error with the server's hint", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.published) != 0 || len(f.revoked) != 2 {
		t.Errorf("published %d catalogues and revoked %v; want none and both tokens",
			len(f.published), f.revoked)
	}
}

func TestRunTeardownFails(t *testing.T) {
	f := newFakeServer(t)
	f.failRevoke = true
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), f.config(), &stdout, &stderr)
	var ce *cli.Error
	if !errors.As(err, &ce) || ce.Msg != "clean up" ||
		!strings.Contains(err.Error(), "revoke token") {
		t.Fatalf("run: %v, want a clean-up error naming the token", err)
	}
	if !strings.Contains(stdout.String(), "throughput") {
		t.Errorf("the report was not printed before the clean-up error:\n%s", stdout.String())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.published) != 2 {
		t.Errorf("%d catalogue publications, want 2: the catalogue is restored all the same",
			len(f.published))
	}
}

func TestRunWaitsForTheCatalogue(t *testing.T) {
	f := newFakeServer(t)
	f.stale = 3 // as a server that caches its catalogue for a moment
	r, _ := runFake(t, f.config())
	if r.Attestations != 24 || len(r.Errors) != 0 {
		t.Errorf("%d attestations and errors %v, want 24 and none", r.Attestations, r.Errors)
	}

	f = newFakeServer(t)
	f.stale = 1 << 30
	c := f.config()
	c.readyTimeout = 20 * time.Millisecond
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), c, &stdout, &stderr)
	var ce *cli.Error
	if !errors.As(err, &ce) ||
		!strings.Contains(err.Error(), "first attestation: attestation/software_unknown") ||
		!strings.Contains(ce.Hint, "another catalogue was published") {
		t.Errorf("run against a catalogue that never trusts the boot: %v", err)
	}
	checkTornDown(t, f)
}
