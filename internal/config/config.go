// Package config reads the server's configuration from flags, HALLMARK_*
// environment variables and an optional file, in that order of precedence.
//
// Every setting has one name: the flag --admin-addr is the variable
// HALLMARK_ADMIN_ADDR and the line "admin-addr = 127.0.0.1:8443" in the
// file named by --config. The defaults run Hallmark on a laptop with no
// other service: SQLite under ./hallmark-data, a key-encryption key in the
// user's configuration directory, listeners on the loopback address.
package config

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is the server's configuration.
type Config struct {
	DataDir  string // data directory: SQLite file, TLS certificate
	Database string // "sqlite", or a postgres:// URL

	AdminAddr   string // admin API, HTTPS
	DAAAddr     string // DAA service for devices, HTTPS
	PKIAddr     string // CRLs and CA certificates, plain HTTP; "" disables
	PublicURL   string // base URL of the PKI listener, put into certificates
	MetricsAddr string // Prometheus metrics, /healthz, /readyz; "" disables
	TLSCert     string // admin TLS certificate; "" makes one in DataDir
	TLSKey      string

	KeyBackend   string // "sealed" or "pkcs11"
	KEKFile      string // sealed: the key-encryption key file
	KEK          string // sealed: the key-encryption key itself (env only)
	PKCS11Module string
	PKCS11Token  string
	PKCS11PIN    string // env only

	Organization string // O of CA subjects

	DeviceCertLifetime time.Duration // lifetime of device certificates
	DeviceRate         float64       // DAA requests per minute per device; 0: no limit
	DeviceBurst        int           // DAA requests a device may make at once
	LogFormat          string        // "auto", "text" or "json"
	LogLevel           string        // "debug", "info", "warn", "error"
}

// secret settings are read from the environment (or the file) only, never
// from flags, which other users can see in the process list.
var secret = map[string]bool{"kek": true, "pkcs11-pin": true}

// Flags registers the settings on fs and returns a function that applies
// environment variables and the config file to every setting the command
// line left unset. Call it after fs.Parse.
func Flags(fs *flag.FlagSet) (*Config, func() error) {
	c := &Config{}
	fs.StringVar(&c.DataDir, "data-dir", "hallmark-data", "data `directory`")
	fs.StringVar(&c.Database, "database", "sqlite",
		"\"sqlite\" (a file in the data directory) or a postgres:// `URL`")
	fs.StringVar(&c.AdminAddr, "admin-addr", "127.0.0.1:8443", "admin API HTTPS `address`")
	fs.StringVar(&c.DAAAddr, "daa-addr", "127.0.0.1:8444",
		"DAA service HTTPS `address` for devices (\"\" disables)")
	fs.DurationVar(&c.DeviceCertLifetime, "device-cert-lifetime", 24*time.Hour,
		"lifetime of device certificates")
	fs.Float64Var(&c.DeviceRate, "device-rate", 30,
		"DAA requests a device may make per minute (0: no limit)")
	fs.IntVar(&c.DeviceBurst, "device-burst", 10, "DAA requests a device may make at once")
	fs.StringVar(&c.PKIAddr, "pki-addr", "127.0.0.1:8080",
		"HTTP `address` publishing CRLs and CA certificates (\"\" disables)")
	fs.StringVar(&c.PublicURL, "public-url", "http://localhost:8080",
		"base `URL` of the PKI address as relying parties reach it; it is written into "+
			"certificates")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", "127.0.0.1:9090",
		"`address` for /metrics, /healthz and /readyz (\"\" disables)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "admin API certificate `file` (default: "+
		"a self-signed one in the data directory)")
	fs.StringVar(&c.TLSKey, "tls-key", "", "admin API private key `file`")
	fs.StringVar(&c.KeyBackend, "key-backend", "sealed",
		"where CA keys live: \"sealed\" (encrypted in the database) or \"pkcs11\"")
	fs.StringVar(&c.KEKFile, "kek-file", defaultKEKFile(),
		"key-encryption key `file` for the sealed backend (or set HALLMARK_KEK)")
	fs.StringVar(&c.PKCS11Module, "pkcs11-module", "", "PKCS#11 module `path`")
	fs.StringVar(&c.PKCS11Token, "pkcs11-token", "", "PKCS#11 token `label`")
	fs.StringVar(&c.Organization, "organization", "Hallmark", "O of CA certificate subjects")
	fs.StringVar(&c.LogFormat, "log-format", "auto", "log `format`: auto, text or json")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log `level`: debug, info, warn, error")
	file := fs.String("config", "", "optional configuration `file` of \"name = value\" lines")

	apply := func() error {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		values := map[string]string{}
		if *file == "" {
			*file = os.Getenv("HALLMARK_CONFIG")
		}
		if *file != "" {
			var err error
			if values, err = readFile(*file, fs); err != nil {
				return err
			}
		}
		for name := range secret {
			if v, ok := values[name]; ok {
				c.set(name, v)
			}
			if v, ok := os.LookupEnv(EnvName(name)); ok {
				c.set(name, v)
			}
		}
		var err error
		fs.VisitAll(func(f *flag.Flag) {
			if set[f.Name] || f.Name == "config" || err != nil {
				return
			}
			v, ok := os.LookupEnv(EnvName(f.Name))
			if !ok {
				v, ok = values[f.Name]
			}
			if ok {
				if e := f.Value.Set(v); e != nil {
					err = fmt.Errorf("config: %s: %w", f.Name, e)
				}
			}
		})
		if err != nil {
			return err
		}
		return c.Validate()
	}
	return c, apply
}

func (c *Config) set(name, v string) {
	switch name {
	case "kek":
		c.KEK = v
	case "pkcs11-pin":
		c.PKCS11PIN = v
	}
}

// EnvName returns the environment variable of a setting.
func EnvName(name string) string {
	return "HALLMARK_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func defaultKEKFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "hallmark", "kek")
}

// readFile reads "name = value" lines; '#' starts a comment line.
func readFile(path string, fs *flag.FlagSet) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	values := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("config: %s:%d: want \"name = value\"", path, n)
		}
		if fs.Lookup(name) == nil && !secret[name] || name == "config" {
			return nil, fmt.Errorf("config: %s:%d: unknown setting %q", path, n, name)
		}
		values[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return values, nil
}

// Validate checks settings that do not depend on the machine.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data-dir must not be empty"))
	}
	if c.Database != "sqlite" && !strings.HasPrefix(c.Database, "postgres://") &&
		!strings.HasPrefix(c.Database, "postgresql://") {
		errs = append(errs, fmt.Errorf("database must be \"sqlite\" or a postgres:// URL"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("tls-cert and tls-key go together"))
	}
	switch c.KeyBackend {
	case "sealed":
		if c.KEK == "" && c.KEKFile == "" {
			errs = append(errs, errors.New("the sealed key backend needs kek-file or "+
				"HALLMARK_KEK"))
		}
	case "pkcs11":
		if c.PKCS11Module == "" || c.PKCS11Token == "" {
			errs = append(errs, errors.New("the pkcs11 key backend needs pkcs11-module "+
				"and pkcs11-token"))
		}
	default:
		errs = append(errs, fmt.Errorf("key-backend must be \"sealed\" or \"pkcs11\""))
	}
	if c.DeviceCertLifetime < 10*time.Minute || c.DeviceCertLifetime > 7*24*time.Hour {
		errs = append(errs, errors.New("device-cert-lifetime must be from 10m to 168h"))
	}
	if !(c.DeviceRate >= 0) || math.IsInf(c.DeviceRate, 0) || c.DeviceBurst < 1 {
		errs = append(errs, errors.New("device-rate must be >= 0 and device-burst >= 1"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, errors.New("log-level must be debug, info, warn or error"))
	}
	switch c.LogFormat {
	case "auto", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log-format must be auto, text or json"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}
