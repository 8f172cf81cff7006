package loadgen

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/cli"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, env(map[string]string{"HALLMARK_TOKEN": "hm_x"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := &config{adminURL: "https://localhost:8443", daaURL: "https://localhost:8444",
		caFile: filepath.Join("hallmark-data", "tls", "admin.crt"), caDefault: true,
		token: "hm_x", devices: 1000, concurrency: 64, attestations: 20000, warmup: 500,
		serverCores: runtime.NumCPU(), output: "text", boundTime: time.Second,
		boundIters: 200, pollInterval: 250 * time.Millisecond, readyTimeout: 10 * time.Second,
		readyPause: 250 * time.Millisecond}
	if diff := cmp.Diff(want, c, cmp.AllowUnexported(config{})); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestParseConfigSources(t *testing.T) {
	vars := map[string]string{"HALLMARK_TOKEN": "hm_env", "HALLMARK_SERVER": "https://a:1/",
		"HALLMARK_DAA_SERVER": "https://d:2", "HALLMARK_OUTPUT": "json",
		"HALLMARK_DATA_DIR": "/srv/hm"}
	tests := []struct {
		name string
		args []string
		vars map[string]string
		want func(c *config)
	}{
		{"environment", nil, vars, func(c *config) {
			c.token, c.adminURL, c.daaURL, c.output = "hm_env", "https://a:1", "https://d:2",
				"json"
			c.caFile, c.caDefault = filepath.Join("/srv/hm", "tls", "admin.crt"), true
		}},
		{"flags win", []string{"--token", "hm_flag", "--admin", "https://b:3",
			"--ca-file", "ca.pem", "--output", "text", "--devices", "10", "--concurrency",
			"10", "--duration", "1m", "--warmup", "0", "--server-cores", "1", "--metrics",
			"http://m:9090/metrics", "--check"}, vars, func(c *config) {
			c.token, c.adminURL, c.daaURL, c.output = "hm_flag", "https://b:3",
				"https://d:2", "text"
			c.caFile = "ca.pem"
			c.devices, c.concurrency, c.duration, c.warmup, c.serverCores = 10, 10,
				time.Minute, 0, 1
			c.metricsURL, c.check = "http://m:9090/metrics", true
		}},
		{"CA file from the environment", nil, map[string]string{"HALLMARK_TOKEN": "hm_x",
			"HALLMARK_CA_FILE": "env.pem"}, func(c *config) {
			c.token, c.caFile = "hm_x", "env.pem"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig(tt.args, env(tt.vars), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			want := &config{adminURL: defaultAdmin, daaURL: defaultDAA, devices: 1000,
				concurrency: 64, attestations: 20000, warmup: 500,
				serverCores: runtime.NumCPU(), output: "text", boundTime: time.Second,
				boundIters: 200, pollInterval: 250 * time.Millisecond,
				readyTimeout: 10 * time.Second,
				readyPause:   250 * time.Millisecond}
			tt.want(want)
			if diff := cmp.Diff(want, c, cmp.AllowUnexported(config{})); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--fast"}, "flag provided but not defined"},
		{"flag without value", []string{"--devices"}, "flag needs an argument"},
		{"not a number", []string{"--devices", "many"}, "invalid value"},
		{"argument", []string{"now"}, `unexpected argument "now"`},
		{"no devices", []string{"--devices", "0"}, "--devices must be from 1"},
		{"too many devices", []string{"--devices", "2000000"}, "--devices must be from 1"},
		{"no concurrency", []string{"--concurrency", "0"}, "--concurrency must be from 1"},
		{"fewer devices than workers", []string{"--devices", "10", "--concurrency", "11"},
			"must be at least --concurrency"},
		{"no attestations", []string{"--attestations", "0"}, "--attestations must be from 1"},
		{"negative warm-up", []string{"--warmup", "-1"}, "--warmup must be from 0"},
		{"no server cores", []string{"--server-cores", "0"}, "--server-cores must be from 1"},
		{"count and duration", []string{"--attestations", "5", "--duration", "1m"},
			"exclude each other"},
		{"negative duration", []string{"--duration", "-1s"}, "--duration must be positive"},
		{"unknown output", []string{"--output", "yaml"}, `unknown output format "yaml"`},
		{"plain HTTP admin", []string{"--admin", "http://localhost:8443"},
			"is not an https URL"},
		{"DAA not a URL", []string{"--daa", "localhost:8444"}, "is not an https URL"},
		{"metrics over FTP", []string{"--metrics", "ftp://m/metrics"},
			"is not an http or https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseConfig(tt.args, env(map[string]string{"HALLMARK_TOKEN": "hm_x"}),
				io.Discard)
			var ue *cli.UsageError
			if !errors.As(err, &ue) {
				t.Fatalf("parseConfig(%q) = %v, want a *cli.UsageError", tt.args, err)
			}
			if !strings.Contains(ue.Msg, tt.want) {
				t.Errorf("message %q, want it to contain %q", ue.Msg, tt.want)
			}
			if ue.Hint == "" {
				t.Error("no hint")
			}
		})
	}
}

func TestParseConfigNoToken(t *testing.T) {
	_, err := parseConfig(nil, env(nil), io.Discard)
	var ue *cli.UsageError
	if !errors.As(err, &ue) || ue.Msg != "missing --token" ||
		!strings.Contains(ue.Hint, "HALLMARK_TOKEN") {
		t.Errorf("parseConfig without a token = %#v, want missing --token", err)
	}
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := parseConfig([]string{"-h"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(-h) = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"usage: hallmark loadgen", "--concurrency C",
		"REPLACES THE\nSERVER'S TRUSTED SOFTWARE CATALOGUE", "--device-rate 0", "taskset",
		"same CSR"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestCommand(t *testing.T) {
	c := Command()
	if c.Name != "loadgen" || c.Summary == "" || c.Run == nil {
		t.Fatalf("Command() = %+v", c)
	}
	var out bytes.Buffer
	err := c.Run(context.Background(), []string{"--devices", "-3"}, nil, &out, &out)
	var ue *cli.UsageError
	if !errors.As(err, &ue) {
		t.Errorf("Run with a bad flag = %v, want a *cli.UsageError", err)
	}
}
