// Package loadgen is the hallmark loadgen command: a load generator that
// drives simulated devices through the DAA's challenge and attestation, over
// HTTPS with keep-alive, and reports throughput and latency beside the
// bound that this machine's crypto sets.
//
// A run has four steps:
//
//  1. Setup, through the admin API with an operator token: a tenant named
//     loadgen-<random>, a manufacturer and a tenant-admin token, N devices
//     with P-256 identity keys held in memory, registered and claimed, and a
//     catalogue that trusts their simulated boot, which replaces the
//     server's catalogue for the length of the run.
//  2. The bound: on one goroutine, the crypto that one attestation cannot
//     avoid on the server (verify the evidence's ES256 signature, verify the
//     CSR's signature, sign the certificate with crypto/x509), timed per
//     core and scaled to the server's cores.
//  3. The load: C workers, each with a keep-alive connection, attest the
//     devices in turn; a warm-up first, then the measured attestations.
//  4. Teardown: the previous catalogue is published again and the tokens
//     are revoked. The tenant and its devices stay: the admin API deletes
//     neither.
//
// [Command] returns the command for package main to register. The package
// speaks HTTPS to the server and imports none of the server's packages, only
// the wire formats (packages deviceid, evidence, daa/wire and attestation).
//
// A simulated device keeps one certificate key and sends the same CSR in
// every attestation, as if it reused its key across renewals, so that the
// load generator's own CPU goes to what a device must redo: signing the
// evidence.
package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/hallmark-project/hallmark/internal/cli"
)

// Timeouts of the HTTP clients and of teardown.
const (
	daaTimeout      = 30 * time.Second
	adminTimeout    = 2 * time.Minute
	metricsTimeout  = 5 * time.Second
	teardownTimeout = 30 * time.Second
)

// Command returns the loadgen command, for package main to pass to
// cli.Register.
func Command() cli.Command {
	return cli.Command{Name: "loadgen",
		Summary: "drive simulated devices through attestation and measure throughput",
		Run: func(ctx context.Context, args []string, _ io.Reader,
			stdout, stderr io.Writer) error {
			c, err := parseConfig(args, os.Getenv, stdout)
			if err != nil {
				return err
			}
			return run(ctx, c, stdout, stderr)
		}}
}

// run sets up the fleet, measures and prints the report. Progress goes to
// stderr.
func run(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "loadgen: "+format+"\n", args...)
	}
	roots, err := loadRoots(c)
	if err != nil {
		return err
	}
	daa := &http.Client{Transport: newTransport(roots, c.concurrency), Timeout: daaTimeout}
	defer daa.CloseIdleConnections()
	api := &adminClient{base: c.adminURL, hc: &http.Client{
		Transport: newTransport(roots, maxClaimWorkers), Timeout: adminTimeout}}
	defer api.hc.CloseIdleConnections()

	// The metrics are asked for uncompressed, so that polling the server's
	// memory does not make it spend its core on gzip during the load.
	metrics := &http.Client{Timeout: metricsTimeout,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots},
			DisableCompression: true}}
	defer metrics.CloseIdleConnections()
	if c.metricsURL != "" {
		if _, err := scrapeRSS(ctx, metrics, c.metricsURL); err != nil {
			return metricsError(err)
		}
	}

	// The bound is measured first, while the machine is quiet: after the
	// fleet's set-up a database on this machine is still busy with it
	// (autovacuum, checkpoints), which would slow the crypto and flatter
	// the ratio.
	logf("measuring the bound on one core")
	b, err := measureBound(c.boundTime, c.boundIters, c.serverCores)
	if err != nil {
		return err
	}
	b.When = "before the set-up"

	logf("making %d simulated devices", c.devices)
	devs, err := newDevices(ctx, c.devices)
	if err != nil {
		return &cli.Error{Err: err}
	}
	f, err := setupFleet(ctx, api, c.token, devs, logf)
	var rep report
	if err == nil {
		rep, err = measure(ctx, c, f, b, daa, metrics, logf)
	}

	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), teardownTimeout)
	defer cancel()
	terr := f.teardown(tctx, api, c.token)
	if err != nil {
		if terr != nil {
			logf("cleaning up also failed: %v", terr)
		}
		return explain(err)
	}
	if rep.Errors["challenge/rate_limited"]+rep.Errors["attestation/rate_limited"] > 0 {
		logf("note: the server's per-device rate limit refused requests; start it " +
			"with --device-rate 0, or give loadgen more --devices")
	}
	if err := rep.write(stdout, c.output); err != nil {
		return err
	}
	if terr != nil {
		return &cli.Error{Msg: "clean up", Err: terr, Hint: "publish the catalogue you " +
			"want with 'hallmark catalogue publish' and revoke loadgen's tokens with " +
			"'hallmark token revoke'"}
	}
	return nil
}

// measure checks that a device can attest, then runs the warm-up and the
// load, and reports them with the bound b.
func measure(ctx context.Context, c *config, f *fleet, b bound, daa, metrics *http.Client,
	logf func(string, ...any)) (report, error) {
	l := newLoader(c.daaURL, daa, f.devices, c.check)
	logf("checking that a device can attest")
	if err := l.ready(ctx, c.readyTimeout, c.readyPause); err != nil {
		return report{}, fmt.Errorf("first attestation: %w", err)
	}

	var poll *rssPoller
	var err error
	if c.metricsURL != "" {
		if poll, err = startRSS(ctx, metrics, c.metricsURL, c.pollInterval); err != nil {
			return report{}, metricsError(err)
		}
	}

	var warm tally
	if c.warmup > 0 {
		logf("warm-up: %d attestations", c.warmup)
		warm = l.phase(ctx, c.concurrency, int64(c.warmup), time.Time{})
	}
	n, deadline := int64(c.attestations), time.Time{}
	if c.duration > 0 {
		n, deadline = 0, time.Now().Add(c.duration)
		logf("load: %d workers for %v", c.concurrency, c.duration)
	} else {
		logf("load: %d attestations from %d workers", n, c.concurrency)
	}
	load := l.phase(ctx, c.concurrency, n, deadline)

	var rss *rssResult
	if poll != nil {
		res := poll.Stop()
		rss = &res
	}
	if err := ctx.Err(); err != nil {
		return report{}, err
	}
	logf("measuring the bound again")
	after, err := measureBound(c.boundTime, c.boundIters, c.serverCores)
	if err != nil {
		return report{}, err
	}
	after.When = "after the load"
	b = b.faster(after)
	return newReport(c, f, runtime.NumCPU(), warm, load, b, rss), nil
}

func metricsError(err error) error {
	return &cli.Error{Msg: "read the server's memory", Err: err,
		Hint: "--metrics takes the server's metrics URL, such as " +
			"http://127.0.0.1:9090/metrics"}
}

// loadRoots reads the certificates to trust; nil means the system's roots.
func loadRoots(c *config) (*x509.CertPool, error) {
	data, err := os.ReadFile(c.caFile)
	if c.caDefault && errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &cli.Error{Msg: "read CA file", Err: err,
			Hint: "check --ca-file or HALLMARK_CA_FILE"}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, &cli.Error{Msg: "no PEM certificate in CA file " + c.caFile,
			Hint: "check --ca-file or HALLMARK_CA_FILE"}
	}
	return pool, nil
}

// explain turns a failure into a *cli.Error with a hint where one helps.
func explain(err error) error {
	var (
		api     *apiError
		f       *failure
		unknown x509.UnknownAuthorityError
		verify  *tls.CertificateVerificationError
		op      *net.OpError
		ce      *cli.Error
	)
	hint := ""
	switch {
	case errors.As(err, &ce):
		return err
	case errors.Is(err, context.Canceled):
		return &cli.Error{Msg: "interrupted", Err: err}
	case errors.As(err, &unknown), errors.As(err, &verify):
		hint = "pass --ca-file (or HALLMARK_CA_FILE) with the server's TLS certificate"
	case errors.As(err, &api) && api.Status == http.StatusUnauthorized:
		hint = "check --token or HALLMARK_TOKEN"
	case errors.As(err, &api) && api.Status == http.StatusForbidden:
		hint = "loadgen needs an operator token"
	case errors.As(err, &api):
		hint = api.Hint
	case errors.As(err, &f) && strings.HasSuffix(f.Key, "/rate_limited"):
		hint = "the server limits each device's requests: start it with --device-rate 0"
	case errors.As(err, &f) && strings.HasPrefix(f.Key, "attestation/software_"):
		hint = "another catalogue was published during setup; run loadgen again"
	case errors.As(err, &op):
		hint = "is the server running? check --admin and --daa"
	}
	return &cli.Error{Err: err, Hint: hint}
}
