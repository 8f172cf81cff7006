package config

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cleanEnv removes every HALLMARK_* variable for the test, so the settings
// of the machine running the tests do not leak in, and points the user's
// configuration directory at a temporary one. It returns that directory.
func cleanEnv(t *testing.T) string {
	t.Helper()
	for _, kv := range os.Environ() {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "HALLMARK_") {
			t.Setenv(name, value) // restored when the test ends
			os.Unsetenv(name)
		}
	}
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	return dir
}

// parse runs the flags, the environment and the file as the server does.
func parse(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c, apply := Flags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return c, apply()
}

func mustParse(t *testing.T, args ...string) *Config {
	t.Helper()
	c, err := parse(t, args...)
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return c
}

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "hallmark.conf")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	home := cleanEnv(t)
	got := mustParse(t)
	want := &Config{
		DataDir:      "hallmark-data",
		Database:     "sqlite",
		AdminAddr:    "127.0.0.1:8443",
		DAAAddr:      "127.0.0.1:8444",
		PKIAddr:      "127.0.0.1:8080",
		PublicURL:    "http://localhost:8080",
		MetricsAddr:  "127.0.0.1:9090",
		KeyBackend:   "sealed",
		KEKFile:      filepath.Join(home, "hallmark", "kek"),
		Organization: "Hallmark",

		DeviceCertLifetime: 24 * time.Hour,
		DeviceRate:         30,
		DeviceBurst:        10,
		LogFormat:          "auto",
		LogLevel:           "info",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestNoConfigDirNeedsKEK(t *testing.T) {
	cleanEnv(t)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	_, err := parse(t)
	if err == nil || !strings.Contains(err.Error(), "kek-file") {
		t.Fatalf("no configuration directory and no KEK: err = %v, want one naming kek-file",
			err)
	}
	// HALLMARK_KEK alone is enough.
	t.Setenv("HALLMARK_KEK", "test-kek")
	if c := mustParse(t); c.KEK != "test-kek" || c.KEKFile != "" {
		t.Errorf("KEK = %q, KEKFile = %q", c.KEK, c.KEKFile)
	}
}

// TestPrecedence sets each setting in ever more places and checks that the
// flag beats the environment, which beats the file, which beats the default.
func TestPrecedence(t *testing.T) {
	settings := []struct {
		name  string
		field func(*Config) string
		def   string
	}{
		{"data-dir", func(c *Config) string { return c.DataDir }, "hallmark-data"},
		{"database", func(c *Config) string { return c.Database }, "sqlite"},
		{"admin-addr", func(c *Config) string { return c.AdminAddr }, "127.0.0.1:8443"},
		{"daa-addr", func(c *Config) string { return c.DAAAddr }, "127.0.0.1:8444"},
		{"pki-addr", func(c *Config) string { return c.PKIAddr }, "127.0.0.1:8080"},
		{"metrics-addr", func(c *Config) string { return c.MetricsAddr }, "127.0.0.1:9090"},
		{"public-url", func(c *Config) string { return c.PublicURL }, "http://localhost:8080"},
		{"organization", func(c *Config) string { return c.Organization }, "Hallmark"},
		{"log-level", func(c *Config) string { return c.LogLevel }, "info"},
		{"kek-file", func(c *Config) string { return c.KEKFile }, ""},
		{"device-cert-lifetime", func(c *Config) string {
			return c.DeviceCertLifetime.String()
		}, "24h0m0s"},
		{"device-burst", func(c *Config) string { return fmt.Sprint(c.DeviceBurst) }, "10"},
	}
	// Values that Validate accepts for every setting above.
	value := func(name, layer string) string {
		switch name {
		case "database":
			return "postgres://" + layer + "/hallmark"
		case "log-level":
			return map[string]string{"file": "warn", "env": "error", "flag": "debug"}[layer]
		case "device-cert-lifetime":
			return map[string]string{"file": "1h0m0s", "env": "2h0m0s", "flag": "3h0m0s"}[layer]
		case "device-burst":
			return map[string]string{"file": "1", "env": "2", "flag": "3"}[layer]
		}
		return layer + "-" + name
	}
	layers := []struct {
		name            string
		file, env, flag bool
		want            string // layer whose value wins; "" for the default
	}{
		{name: "default"},
		{name: "file", file: true, want: "file"},
		{name: "env over file", file: true, env: true, want: "env"},
		{name: "env alone", env: true, want: "env"},
		{name: "flag over env and file", file: true, env: true, flag: true, want: "flag"},
		{name: "flag over file", file: true, flag: true, want: "flag"},
	}
	for _, s := range settings {
		for _, l := range layers {
			t.Run(s.name+"/"+l.name, func(t *testing.T) {
				cleanEnv(t)
				var args []string
				if l.file {
					args = append(args, "--config",
						writeConfig(t, s.name+" = "+value(s.name, "file")+"\n"))
				}
				if l.env {
					t.Setenv(EnvName(s.name), value(s.name, "env"))
				}
				if l.flag {
					args = append(args, "--"+s.name, value(s.name, "flag"))
				}
				c := mustParse(t, args...)
				want := s.def
				if l.want != "" {
					want = value(s.name, l.want)
				}
				if s.name == "kek-file" && l.want == "" {
					want = c.KEKFile // the default depends on the machine
				}
				if got := s.field(c); got != want {
					t.Errorf("%s = %q, want %q", s.name, got, want)
				}
			})
		}
	}
}

// TestEmptyValues checks that an empty value set in a higher layer wins:
// it is how pki-addr and metrics-addr are disabled.
func TestEmptyValues(t *testing.T) {
	tests := []struct {
		name string
		env  bool // set HALLMARK_PKI_ADDR=""; otherwise pass --pki-addr ""
	}{
		{"env", true},
		{"flag", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			args := []string{"--config", writeConfig(t, "pki-addr = 127.0.0.1:1\n")}
			if tc.env {
				t.Setenv("HALLMARK_PKI_ADDR", "")
			} else {
				args = append(args, "--pki-addr", "")
			}
			if c := mustParse(t, args...); c.PKIAddr != "" {
				t.Errorf("pki-addr = %q, want empty", c.PKIAddr)
			}
		})
	}
	t.Run("file", func(t *testing.T) {
		cleanEnv(t)
		c := mustParse(t, "--config", writeConfig(t, "metrics-addr =\n"))
		if c.MetricsAddr != "" {
			t.Errorf("metrics-addr = %q, want empty", c.MetricsAddr)
		}
	})
}

// TestEverySettingHasAVariable sets the variable of every flag and checks
// that the setting takes it.
func TestEverySettingHasAVariable(t *testing.T) {
	cleanEnv(t)
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	Flags(fs)
	var names []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" {
			names = append(names, f.Name)
		}
	})
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv("HALLMARK_KEK", "test-kek") // so a kek-file of any value validates
			v := "env-" + name
			switch name {
			case "database":
				v = "postgres://env/db"
			case "key-backend":
				v = "pkcs11"
				t.Setenv("HALLMARK_PKCS11_MODULE", "/lib/p11.so")
				t.Setenv("HALLMARK_PKCS11_TOKEN", "hm")
			case "log-level":
				v = "warn"
			case "device-cert-lifetime":
				v = "1h0m0s"
			case "device-rate":
				v = "2.5"
			case "device-burst":
				v = "3"
			case "log-format":
				v = "json"
			case "tls-cert", "tls-key":
				t.Setenv("HALLMARK_TLS_CERT", v)
				t.Setenv("HALLMARK_TLS_KEY", v)
			}
			t.Setenv(EnvName(name), v)
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			_, apply := Flags(fs)
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			if err := apply(); err != nil {
				t.Fatalf("%s=%q: %v", EnvName(name), v, err)
			}
			if got := fs.Lookup(name).Value.String(); got != v {
				t.Errorf("%s = %q after %s=%q", name, got, EnvName(name), v)
			}
		})
	}
}

func TestConfigFileFromEnv(t *testing.T) {
	cleanEnv(t)
	t.Setenv("HALLMARK_CONFIG", writeConfig(t, "organization = Env File\n"))
	if c := mustParse(t); c.Organization != "Env File" {
		t.Errorf("HALLMARK_CONFIG: organization = %q", c.Organization)
	}
	// --config names another file and wins.
	c := mustParse(t, "--config", writeConfig(t, "organization = Flag File\n"))
	if c.Organization != "Flag File" {
		t.Errorf("--config over HALLMARK_CONFIG: organization = %q", c.Organization)
	}
}

// TestSecrets checks that the KEK and the PIN are no flags, and come from the
// environment or the file, the environment first.
func TestSecrets(t *testing.T) {
	t.Run("not flags", func(t *testing.T) {
		for _, name := range []string{"kek", "pkcs11-pin"} {
			cleanEnv(t)
			_, err := parse(t, "--"+name, "secret-on-the-command-line")
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("--%s: err = %v, want an undefined flag error", name, err)
			}
			if err != nil && strings.Contains(err.Error(), "secret-on-the-command-line") {
				t.Errorf("--%s: error echoes the value: %v", name, err)
			}
		}
	})

	tests := []struct {
		name     string
		file     string
		env      map[string]string
		kek, pin string
	}{
		{name: "none"},
		{name: "env", env: map[string]string{"HALLMARK_KEK": "env-kek",
			"HALLMARK_PKCS11_PIN": "env-pin"}, kek: "env-kek", pin: "env-pin"},
		{name: "file", file: "kek = file-kek\npkcs11-pin = file-pin\n",
			kek: "file-kek", pin: "file-pin"},
		{name: "env over file", file: "kek = file-kek\npkcs11-pin = file-pin\n",
			env: map[string]string{"HALLMARK_KEK": "env-kek", "HALLMARK_PKCS11_PIN": "env-pin"},
			kek: "env-kek", pin: "env-pin"},
		{name: "each from its own place", file: "kek = file-kek\n",
			env: map[string]string{"HALLMARK_PKCS11_PIN": "env-pin"},
			kek: "file-kek", pin: "env-pin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var args []string
			if tc.file != "" {
				args = append(args, "--config", writeConfig(t, tc.file))
			}
			c := mustParse(t, args...)
			if c.KEK != tc.kek || c.PKCS11PIN != tc.pin {
				t.Errorf("KEK, PIN = %q, %q; want %q, %q", c.KEK, c.PKCS11PIN, tc.kek, tc.pin)
			}
		})
	}
}

func TestFileFormat(t *testing.T) {
	cleanEnv(t)
	text := "# Hallmark configuration\n" +
		"\n" +
		"   # an indented comment\n" +
		"data-dir=/var/lib/hallmark\n" +
		"\tadmin-addr   =   0.0.0.0:8443   \n" +
		"database = postgres://u@db/hallmark?sslmode=disable&search_path=hm\n" +
		"organization = Acme Devices, Inc.\r\n" +
		"\n" +
		"log-format = json\n"
	c := mustParse(t, "--config", writeConfig(t, text))
	got := []string{c.DataDir, c.AdminAddr, c.Database, c.Organization, c.LogFormat}
	want := []string{"/var/lib/hallmark", "0.0.0.0:8443",
		"postgres://u@db/hallmark?sslmode=disable&search_path=hm", "Acme Devices, Inc.", "json"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("settings from the file (-want +got):\n%s", diff)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string // each in the error
	}{
		{"unknown setting", "data-dir = d\n\nadmin-adr = x\n",
			[]string{":3:", `unknown setting "admin-adr"`}},
		{"no equals sign", "# comment\ndata-dir /var/lib/hallmark\n",
			[]string{":2:", "name = value"}},
		{"no name", "= value\n", []string{":1:", "name = value"}},
		{"config inside config", "config = other.conf\n",
			[]string{":1:", `unknown setting "config"`}},
		{"line too long", "organization = " + strings.Repeat("x", 70_000) + "\n",
			[]string{"read"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			path := writeConfig(t, tc.text)
			_, err := parse(t, "--config", path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		cleanEnv(t)
		path := filepath.Join(t.TempDir(), "absent.conf")
		_, err := parse(t, "--config", path)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want one naming %s", err, path)
		}
	})
	t.Run("directory", func(t *testing.T) {
		cleanEnv(t)
		dir := t.TempDir()
		if _, err := parse(t, "--config", dir); err == nil {
			t.Fatal("a directory as config file: no error")
		}
	})
	t.Run("missing file from env", func(t *testing.T) {
		cleanEnv(t)
		t.Setenv("HALLMARK_CONFIG", filepath.Join(t.TempDir(), "absent.conf"))
		if _, err := parse(t); err == nil {
			t.Fatal("HALLMARK_CONFIG naming a missing file: no error")
		}
	})
}

func validConfig() Config {
	return Config{DataDir: "data", Database: "sqlite", KeyBackend: "sealed", KEKFile: "kek",
		DeviceCertLifetime: 24 * time.Hour, DeviceRate: 30, DeviceBurst: 10,
		LogFormat: "auto", LogLevel: "info"}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // each in the error; none for a valid config
	}{
		{"valid", func(c *Config) {}, nil},
		{"postgresql URL", func(c *Config) { c.Database = "postgresql://db/hm" }, nil},
		{"sealed with KEK only", func(c *Config) { c.KEKFile, c.KEK = "", "k" }, nil},
		{"pkcs11", func(c *Config) {
			c.KeyBackend, c.PKCS11Module, c.PKCS11Token = "pkcs11", "/lib/p11.so", "hm"
		}, nil},
		{"tls pair", func(c *Config) { c.TLSCert, c.TLSKey = "c.pem", "k.pem" }, nil},
		{"text log", func(c *Config) { c.LogFormat = "text" }, nil},
		{"no device rate limit", func(c *Config) { c.DeviceRate = 0 }, nil},
		{"shortest device certificate", func(c *Config) {
			c.DeviceCertLifetime = 10 * time.Minute
		}, nil},
		{"longest device certificate", func(c *Config) {
			c.DeviceCertLifetime = 168 * time.Hour
		}, nil},

		{"empty data dir", func(c *Config) { c.DataDir = "" }, []string{"data-dir"}},
		{"mysql database", func(c *Config) { c.Database = "mysql://db/hm" },
			[]string{"database"}},
		{"empty database", func(c *Config) { c.Database = "" }, []string{"database"}},
		{"tls-cert without tls-key", func(c *Config) { c.TLSCert = "c.pem" },
			[]string{"tls-cert", "tls-key"}},
		{"tls-key without tls-cert", func(c *Config) { c.TLSKey = "k.pem" },
			[]string{"tls-cert", "tls-key"}},
		{"unknown key backend", func(c *Config) { c.KeyBackend = "vault" },
			[]string{"key-backend"}},
		{"empty key backend", func(c *Config) { c.KeyBackend = "" }, []string{"key-backend"}},
		{"sealed without KEK", func(c *Config) { c.KEKFile = "" },
			[]string{"kek-file", "HALLMARK_KEK"}},
		{"pkcs11 without module", func(c *Config) {
			c.KeyBackend, c.PKCS11Token = "pkcs11", "hm"
		}, []string{"pkcs11-module"}},
		{"pkcs11 without token", func(c *Config) {
			c.KeyBackend, c.PKCS11Module = "pkcs11", "/lib/p11.so"
		}, []string{"pkcs11-token"}},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, []string{"log-format"}},
		// An unknown level must not silently become "info".
		{"bad log level", func(c *Config) { c.LogLevel = "verbose" }, []string{"log-level"}},
		{"device certificate too short", func(c *Config) {
			c.DeviceCertLifetime = 9 * time.Minute
		}, []string{"device-cert-lifetime"}},
		{"device certificate too long", func(c *Config) {
			c.DeviceCertLifetime = 169 * time.Hour
		}, []string{"device-cert-lifetime"}},
		{"negative device rate", func(c *Config) { c.DeviceRate = -1 }, []string{"device-rate"}},
		// flag.Float64Var takes "NaN", which compares false with everything.
		{"NaN device rate", func(c *Config) { c.DeviceRate = math.NaN() },
			[]string{"device-rate"}},
		{"no device burst", func(c *Config) { c.DeviceBurst = 0 }, []string{"device-burst"}},
		{"several", func(c *Config) { c.DataDir, c.LogFormat = "", "xml" },
			[]string{"data-dir", "log-format"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig()
			tc.change(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", c)
			}
			for _, w := range append(tc.want, "config:") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestValidateOnParse checks that the values of flags, variables and files
// go through Validate.
func TestValidateOnParse(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string
		want string
	}{
		{name: "flag", args: []string{"--database", "mysql://db"}, want: "database"},
		{name: "env", env: map[string]string{"HALLMARK_KEY_BACKEND": "vault"},
			want: "key-backend"},
		{name: "file", file: "key-backend = pkcs11\n", want: "pkcs11-module"},
		{name: "tls-cert alone", args: []string{"--tls-cert", "c.pem"}, want: "tls-key"},
		{name: "env not a number", env: map[string]string{"HALLMARK_DEVICE_BURST": "many"},
			want: "device-burst"},
		{name: "file not a duration", file: "device-cert-lifetime = 1 day\n",
			want: "device-cert-lifetime"},
		{name: "flag NaN", args: []string{"--device-rate", "NaN"}, want: "device-rate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			args := tc.args
			if tc.file != "" {
				args = append(args, "--config", writeConfig(t, tc.file))
			}
			_, err := parse(t, args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestEnvName(t *testing.T) {
	tests := []struct{ name, want string }{
		{"data-dir", "HALLMARK_DATA_DIR"},
		{"kek", "HALLMARK_KEK"},
		{"kek-file", "HALLMARK_KEK_FILE"},
		{"pkcs11-pin", "HALLMARK_PKCS11_PIN"},
		{"public-url", "HALLMARK_PUBLIC_URL"},
		{"config", "HALLMARK_CONFIG"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EnvName(tc.name); got != tc.want {
				t.Errorf("EnvName(%q) = %q, want %q", tc.name, got, tc.want)
			}
		})
	}
}
