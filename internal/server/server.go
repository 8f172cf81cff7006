// Package server assembles Hallmark's services into the processes that
// `hallmark serve` and `hallmark init` run.
//
// Serve opens the store and the key backend, creates the CA hierarchy and an
// operator token on first start, and runs the admin API (HTTPS), the PKI
// publication point (HTTP: CRLs and CA certificates), the DAA service for
// devices (HTTPS: challenges and attestations) and the metrics
// listener (/metrics, /healthz, /readyz) until its context ends. Several
// replicas may serve one PostgreSQL database.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hallmark-project/hallmark/internal/adminapi"
	"github.com/hallmark-project/hallmark/internal/authority"
	"github.com/hallmark-project/hallmark/internal/caengine"
	"github.com/hallmark-project/hallmark/internal/catalogue"
	"github.com/hallmark-project/hallmark/internal/config"
	"github.com/hallmark-project/hallmark/internal/daa"
	"github.com/hallmark-project/hallmark/internal/keys"
	"github.com/hallmark-project/hallmark/internal/nonce"
	"github.com/hallmark-project/hallmark/internal/registry"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/tenant"
	"github.com/hallmark-project/hallmark/internal/token"
	"github.com/hallmark-project/hallmark/internal/verifier"
)

// How often a server looks for tenant CAs to roll over, and for expired
// nonces to delete.
const (
	rolloverInterval   = time.Hour
	nonceSweepInterval = time.Minute
)

// system is an opened installation: store, keys and services.
type system struct {
	cfg    *config.Config
	log    *slog.Logger
	store  store.Store
	keys   keys.Backend
	ca     *authority.Authority
	tokens *token.Service

	// onListen, if set, learns each listener's address: for tests and the
	// demo, which listen on port 0.
	onListen func(name, addr string)
}

func (s *system) Close() {
	if s.keys != nil {
		s.keys.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
}

// open opens the store and keys and makes sure the CA hierarchy and an
// operator token exist; a new operator token's secret is printed on out.
func open(ctx context.Context, cfg *config.Config, log *slog.Logger, out io.Writer) (
	*system, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	sys := &system{cfg: cfg, log: log, store: st}
	sys.keys, err = openKeysRetry(ctx, cfg, st, log)
	if err != nil {
		sys.Close()
		return nil, err
	}
	sys.ca = authority.New(authority.Config{Store: st, Keys: sys.keys,
		Organization: cfg.Organization, PublicURL: cfg.PublicURL})
	created, err := sys.ca.Bootstrap(ctx)
	if errors.Is(err, store.ErrConflict) {
		created, err = sys.ca.Bootstrap(ctx) // another replica bootstrapped first
	}
	if err != nil {
		sys.Close()
		return nil, err
	}
	if created {
		log.Info("created root and intermediate CA", "backend", sys.keys.Name())
	}
	if err := sys.ca.Check(ctx); err != nil {
		sys.Close()
		return nil, fmt.Errorf("the CA keys cannot be used with the %s key backend: %w",
			sys.keys.Name(), err)
	}
	sys.tokens = token.NewService(st, sys.ca.Now)
	secret, err := sys.tokens.Bootstrap(ctx)
	if err != nil {
		sys.Close()
		return nil, err
	}
	if secret != "" {
		fmt.Fprintf(out, "Operator token (shown once; keep it secret):\n\n  %s\n\n"+
			"Use it with: export HALLMARK_TOKEN=%s\n", secret, secret)
	}
	return sys, nil
}

func openKeysRetry(ctx context.Context, cfg *config.Config, st store.Store,
	log *slog.Logger) (keys.Backend, error) {
	b, note, err := openKeys(ctx, cfg, st)
	if errors.Is(err, store.ErrConflict) {
		b, note, err = openKeys(ctx, cfg, st) // another replica recorded the KEK first
	}
	if err != nil {
		return nil, err
	}
	if note != "" {
		log.Warn(note)
	}
	return b, nil
}

// Init creates the data directory, the CA hierarchy and the first operator
// token, and exits. Running it again changes nothing.
func Init(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	sys, err := openFromArgs(ctx, "init", args, stdout, stderr)
	if err != nil {
		return err
	}
	defer sys.Close()
	fmt.Fprintf(stdout, "Hallmark is initialised in %s. Start it with: hallmark serve\n",
		sys.cfg.DataDir)
	return nil
}

// minProcs is the fewest Go processors Serve runs with. A store hands each
// transaction between goroutines (SQLite's single writer and its callers;
// pgx's pool); with one processor every hand-off waits behind requests busy
// with signatures, and at 64 concurrent devices on one core p99 latency was
// four times what it is with two (BENCHMARKS.md). The operating system then
// interleaves the two threads. GOMAXPROCS in the environment still decides.
const minProcs = 2

// gcPercent is the garbage collector's target that Serve sets, unless GOGC
// or GOMEMLIMIT is in the environment. Each attestation allocates some
// 80 KB that dies with its request, and the live heap is a few tens of
// megabytes, so at Go's default of 100 the collector ran several times a
// second, taking CPU from the signatures and clearing their tables from the
// caches; at 400 the heap may grow to five times what is live
// (BENCHMARKS.md gives the peak memory).
const gcPercent = 400

// Serve runs every service until ctx ends.
func Serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minProcs {
		runtime.GOMAXPROCS(minProcs)
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(gcPercent)
	}
	sys, err := openFromArgs(ctx, "serve", args, stderr, stderr)
	if err != nil {
		return err
	}
	defer sys.Close()
	return sys.serve(ctx)
}

// openFromArgs reads the configuration of the command from its arguments
// and the environment, and opens the installation; a new operator token is
// printed on tokenOut.
func openFromArgs(ctx context.Context, name string, args []string, tokenOut,
	stderr io.Writer) (*system, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, apply := config.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := apply(); err != nil {
		return nil, err
	}
	return open(ctx, cfg, newLogger(cfg, stderr), tokenOut)
}

func (s *system) serve(ctx context.Context) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(
		collectors.ProcessCollectorOpts{}))
	tenants := tenant.NewService(s.store, s.ca)
	cat := catalogue.NewSource(s.store, s.ca.Now)
	api, err := adminapi.New(adminapi.Config{Store: s.store, Authority: s.ca, Tenants: tenants,
		Tokens: s.tokens, Registry: registry.NewService(s.store, s.ca.Now), Catalogue: cat,
		Logger: s.log, Metrics: reg})
	if err != nil {
		return err
	}
	engine, err := caengine.New(caengine.Config{Store: s.store, Authority: s.ca,
		Lifetime: s.cfg.DeviceCertLifetime})
	if err != nil {
		return err
	}
	nonceKey, err := nonce.LoadKey(ctx, s.store, nil)
	if err != nil {
		return err
	}
	nonces, err := nonce.New(nonceKey, nil)
	if err != nil {
		return err
	}
	front, err := daa.New(daa.Config{Store: s.store, Engine: engine,
		Verifier: verifier.New(s.store, cat, nonces, s.ca.Now), Logger: s.log, Metrics: reg,
		Now: s.ca.Now, RatePerMinute: s.cfg.DeviceRate, Burst: s.cfg.DeviceBurst})
	if err != nil {
		return err
	}
	tlsConfig, err := loadTLS(s.cfg.TLSCert, s.cfg.TLSKey, s.cfg.DataDir, s.ca.Now())
	if err != nil {
		return err
	}

	adminMux := http.NewServeMux()
	s.health(adminMux)
	adminMux.Handle("/", api)
	// Each HTTPS listener gets its own copy: a server edits its TLS config.
	servers := []*listener{{name: "admin", addr: s.cfg.AdminAddr, handler: adminMux,
		tls: tlsConfig.Clone()}}
	if s.cfg.DAAAddr != "" {
		servers = append(servers, &listener{name: "daa", addr: s.cfg.DAAAddr, handler: front,
			tls: tlsConfig.Clone()})
	}
	if s.cfg.PKIAddr != "" {
		servers = append(servers, &listener{name: "pki", addr: s.cfg.PKIAddr,
			handler: pkiOnly(api)})
	}
	if s.cfg.MetricsAddr != "" {
		m := http.NewServeMux()
		s.health(m)
		m.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		// Profiles, on the same loopback-by-default listener as the metrics.
		m.HandleFunc("GET /debug/pprof/", pprof.Index)
		m.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		m.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
		servers = append(servers, &listener{name: "metrics", addr: s.cfg.MetricsAddr,
			handler: m})
	}

	for _, l := range servers {
		if err := l.listen(); err != nil {
			for _, o := range servers {
				o.close()
			}
			return err
		}
	}
	errc := make(chan error, len(servers))
	for _, l := range servers {
		s.log.Info("listening", "service", l.name, "addr", l.ln.Addr().String())
		if s.onListen != nil {
			s.onListen(l.name, l.ln.Addr().String())
		}
		go func() { errc <- l.serve(s.log) }()
	}
	go s.maintain(ctx)

	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, l := range servers {
		_ = l.srv.Shutdown(shutdown)
	}
	s.log.Info("stopped")
	return err
}

// pkiOnly exposes the /pki/ routes of the API, without authentication, and
// nothing else.
func pkiOnly(api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /pki/", api)
	return mux
}

// maintain rolls tenant CAs over every hour and drops expired nonces every
// minute, until ctx ends.
func (s *system) maintain(ctx context.Context) {
	t := time.NewTicker(nonceSweepInterval)
	defer t.Stop()
	var lastRollover time.Time
	for {
		if time.Since(lastRollover) >= rolloverInterval {
			lastRollover = time.Now()
			n, err := s.ca.Rollover(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("tenant CA rollover", "err", err)
			} else if n > 0 {
				s.log.Info("tenant CA rollover", "created", n)
			}
		}
		n, err := s.store.DeleteNonces(ctx, s.ca.Now())
		if err != nil && ctx.Err() == nil {
			s.log.Error("delete expired nonces", "err", err)
		} else if n > 0 {
			s.log.Debug("deleted expired nonces", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *system) health(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			s.log.Warn("not ready: database", "err", err)
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		if err := s.ca.Check(ctx); err != nil {
			s.log.Warn("not ready: CA keys", "err", err)
			http.Error(w, "CA keys unusable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
}

// listener is one HTTP server of the process.
type listener struct {
	name    string
	addr    string
	handler http.Handler
	tls     *tls.Config
	ln      net.Listener
	srv     *http.Server
}

func (l *listener) listen() error {
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		return fmt.Errorf("%s listener: %w", l.name, err)
	}
	l.ln = ln
	l.srv = &http.Server{
		Handler:           l.handler,
		TLSConfig:         l.tls,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	return nil
}

func (l *listener) close() {
	if l.ln != nil {
		l.ln.Close()
	}
}

func (l *listener) serve(log *slog.Logger) error {
	l.srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	var err error
	if l.tls != nil {
		err = l.srv.ServeTLS(l.ln, "", "")
	} else {
		err = l.srv.Serve(l.ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("%s listener: %w", l.name, err)
}
