package loadgen

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/hallmark-project/hallmark/internal/cli"
)

// Defaults and limits of the flags.
const (
	defaultAdmin   = "https://localhost:8443"
	defaultDAA     = "https://localhost:8444"
	defaultDataDir = "hallmark-data"

	maxDevices     = 1_000_000
	maxConcurrency = 4096
)

// config is a parsed command line.
type config struct {
	adminURL     string
	daaURL       string
	caFile       string // "" for the system's roots
	caDefault    bool   // caFile is the default; a missing file means the system's roots
	token        string
	devices      int
	concurrency  int
	attestations int
	duration     time.Duration // if not zero, run this long instead of attestations
	warmup       int
	serverCores  int
	metricsURL   string
	output       string
	check        bool

	// Not flags; tests shorten them.
	boundTime    time.Duration // the bound's loop runs at least this long
	boundIters   int           // and at least this many rounds
	pollInterval time.Duration // of the metrics endpoint
	readyTimeout time.Duration // for the first attestation to succeed
	readyPause   time.Duration // between tries of the first attestation
}

// parseConfig parses the command line. It prints the usage on stdout for -h
// and returns flag.ErrHelp; a bad command line is a *cli.UsageError.
func parseConfig(args []string, getenv func(string) string, stdout io.Writer) (*config,
	error) {
	c := &config{boundTime: time.Second, boundIters: 200,
		pollInterval: 250 * time.Millisecond, readyTimeout: 10 * time.Second,
		readyPause: 250 * time.Millisecond}
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	defineFlags(fs, c)
	if err := cli.ParseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs)
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["duration"] && set["attestations"] {
		return nil, usageError("--attestations and --duration exclude each other")
	}

	pick := func(v *string, env, def string) {
		if *v == "" {
			*v = getenv(env)
		}
		if *v == "" {
			*v = def
		}
	}
	pick(&c.adminURL, "HALLMARK_SERVER", defaultAdmin)
	pick(&c.daaURL, "HALLMARK_DAA_SERVER", defaultDAA)
	pick(&c.token, "HALLMARK_TOKEN", "")
	pick(&c.output, "HALLMARK_OUTPUT", "text")
	pick(&c.caFile, "HALLMARK_CA_FILE", "")
	if c.caFile == "" {
		dir := getenv("HALLMARK_DATA_DIR")
		if dir == "" {
			dir = defaultDataDir
		}
		c.caFile, c.caDefault = filepath.Join(dir, "tls", "admin.crt"), true
	}
	return c, c.validate()
}

func defineFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.adminURL, "admin", "",
		"admin API `URL` (HALLMARK_SERVER; default "+defaultAdmin+")")
	fs.StringVar(&c.daaURL, "daa", "",
		"DAA `URL` the devices attest to (HALLMARK_DAA_SERVER; default "+defaultDAA+")")
	fs.StringVar(&c.caFile, "ca-file", "",
		"PEM `FILE` of the certificate to trust for both URLs (HALLMARK_CA_FILE;\n"+
			"default "+defaultDataDir+"/tls/admin.crt, or DIR/tls/admin.crt with\n"+
			"HALLMARK_DATA_DIR, if it exists, else the system's roots)")
	fs.StringVar(&c.token, "token", "",
		"operator `TOKEN` that sets up the fleet; prefer HALLMARK_TOKEN, which keeps\n"+
			"the secret out of shell history and the process list")
	fs.IntVar(&c.devices, "devices", 1000, "simulated devices, `N`")
	fs.IntVar(&c.concurrency, "concurrency", 64,
		"devices attesting at once, `C`: one worker and one connection each")
	fs.IntVar(&c.attestations, "attestations", 20000,
		"attestations to measure, `M`, after the warm-up")
	fs.DurationVar(&c.duration, "duration", 0,
		"measure for this `DURATION` instead of a number of attestations")
	fs.IntVar(&c.warmup, "warmup", 500, "attestations `W` before the measurement, not counted")
	fs.IntVar(&c.serverCores, "server-cores", runtime.NumCPU(),
		"`CORES` the server may use, to scale the bound")
	fs.StringVar(&c.metricsURL, "metrics", "",
		"the server's metrics `URL`, such as http://127.0.0.1:9090/metrics: poll its\n"+
			"resident memory every 250 ms during the load and report the peak")
	fs.StringVar(&c.output, "output", "",
		"output `FORMAT`: text or json (HALLMARK_OUTPUT; default text)")
	fs.BoolVar(&c.check, "check", false,
		"parse each certificate and check its subject and key (costs client CPU)")
}

// validate checks the values of the flags.
func (c *config) validate() error {
	for _, r := range []struct {
		name      string
		v, lo, hi int
	}{
		{"devices", c.devices, 1, maxDevices},
		{"concurrency", c.concurrency, 1, maxConcurrency},
		{"attestations", c.attestations, 1, 1 << 40},
		{"warmup", c.warmup, 0, 1 << 40},
		{"server-cores", c.serverCores, 1, 1 << 16},
	} {
		if r.v < r.lo || r.v > r.hi {
			return usageError(fmt.Sprintf("--%s must be from %d to %d, got %d",
				r.name, r.lo, r.hi, r.v))
		}
	}
	if c.devices < c.concurrency {
		return usageError(fmt.Sprintf("--devices (%d) must be at least --concurrency (%d): "+
			"a device attests for one worker at a time", c.devices, c.concurrency))
	}
	if c.duration < 0 {
		return usageError("--duration must be positive")
	}
	if c.output != "text" && c.output != "json" {
		return usageError(fmt.Sprintf("unknown output format %q; use text or json", c.output))
	}
	if c.token == "" {
		return &cli.UsageError{Msg: "missing --token",
			Hint: "set HALLMARK_TOKEN to an operator token, such as the one " +
				"'hallmark init' printed"}
	}

	var err error
	if c.adminURL, err = checkURL("admin", c.adminURL, "https"); err != nil {
		return err
	}
	if c.daaURL, err = checkURL("daa", c.daaURL, "https"); err != nil {
		return err
	}
	if c.metricsURL != "" {
		c.metricsURL, err = checkURL("metrics", c.metricsURL, "http", "https")
	}
	return err
}

// checkURL checks a URL flag and returns it without a trailing slash.
func checkURL(flagName, s string, schemes ...string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || !slices.Contains(schemes, u.Scheme) {
		return "", usageError(fmt.Sprintf("--%s %q is not an %s URL", flagName, s,
			strings.Join(schemes, " or ")))
	}
	return strings.TrimRight(s, "/"), nil
}

func usageError(msg string) *cli.UsageError {
	return &cli.UsageError{Msg: msg, Hint: "run 'hallmark loadgen -h' for its flags"}
}
