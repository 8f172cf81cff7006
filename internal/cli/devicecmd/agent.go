package devicecmd

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/agent"
	"github.com/hallmark-project/hallmark/internal/cli"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// Defaults of the DAA connection flags.
const (
	defaultServer  = "https://localhost:8444"
	defaultDataDir = "hallmark-data"
)

const manifestHelp = `The boot manifest lists the components the device booted, in order, each
with its digest or with a file whose SHA-256 is measured (relative to the
manifest's folder):

  {"components": [
    {"name": "loader", "version": "1.1", "svn": 2, "digest": "<64 hex>"},
    {"name": "kernel", "version": "6.1", "svn": 7, "file": "kernel.img"}
  ]}
`

func (e *env) keygen(_ context.Context, c *call) error {
	key := keyFlag(c)
	if _, err := c.parse(0); err != nil {
		return err
	}
	if err := c.require("key", *key); err != nil {
		return err
	}
	id, err := agent.CreateKeyFile(*key)
	if errors.Is(err, fs.ErrExist) {
		return &cli.Error{Err: err, Hint: "a device keeps its identity key for life: " +
			"'hallmark agent id --key " + *key + "' shows its ID; choose another --key " +
			"for another device"}
	}
	if err != nil {
		return &cli.Error{Err: err}
	}
	_, err = fmt.Fprintln(e.stdout, id)
	return err
}

func (e *env) id(_ context.Context, c *call) error {
	key := keyFlag(c)
	if _, err := c.parse(0); err != nil {
		return err
	}
	if err := c.require("key", *key); err != nil {
		return err
	}
	_, id, err := loadKey(*key)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, id)
	return err
}

func keyFlag(c *call) *string {
	return c.flags().String("key", "",
		"the device identity key `FILE` (PKCS#8 PEM, ECDSA P-256, mode 0600)")
}

// loadKey loads a key file, with hints for its usual faults.
func loadKey(path string) (agent.RootOfTrust, deviceid.ID, error) {
	rot, id, err := agent.LoadKeyFile(path)
	var modeErr *agent.KeyFileModeError
	switch {
	case errors.As(err, &modeErr):
		return nil, id, &cli.Error{Err: err, Hint: "run chmod 600 " + path}
	case errors.Is(err, fs.ErrNotExist):
		return nil, id, &cli.Error{Err: err,
			Hint: "create a device key with 'hallmark agent keygen --key " + path + "'"}
	case err != nil:
		return nil, id, &cli.Error{Err: err}
	}
	return rot, id, nil
}

// daaFlags are the flags of the commands that attest.
type daaFlags struct {
	key      *string
	manifest *string
	out      *string
	server   *string
	caFile   *string
	dataDir  *string
}

func defineDAAFlags(c *call) *daaFlags {
	fs := c.flags()
	return &daaFlags{
		key: keyFlag(c),
		manifest: fs.String("manifest", "",
			"the boot manifest `FILE` (JSON; see below)"),
		out: fs.String("out", "",
			"the `DIR` to write key.pem, cert.pem, chain.pem and fullchain.pem to"),
		server: fs.String("server", "",
			"the DAA's `URL` (HALLMARK_DAA_SERVER; default "+defaultServer+")"),
		caFile: fs.String("ca-file", "",
			"PEM `FILE` of the certificate to trust for the DAA's TLS certificate\n"+
				"(HALLMARK_CA_FILE; default DIR/tls/admin.crt of --data-dir if it\n"+
				"exists, else the system's roots)"),
		dataDir: fs.String("data-dir", "",
			"the server's data `DIR`, for the default --ca-file\n"+
				"(HALLMARK_DATA_DIR; default "+defaultDataDir+")"),
	}
}

// device is what the attesting commands set up from their flags.
type device struct {
	rot    agent.RootOfTrust
	id     deviceid.ID
	boot   []evidence.Component
	client *agent.Client
}

// setup checks the flags, loads the key and the manifest and makes the
// client.
func (e *env) setup(c *call, f *daaFlags) (*device, error) {
	if _, err := c.parse(0); err != nil {
		return nil, err
	}
	for _, r := range []struct{ name, value string }{
		{"key", *f.key}, {"manifest", *f.manifest}, {"out", *f.out},
	} {
		if err := c.require(r.name, r.value); err != nil {
			return nil, err
		}
	}
	server := e.pick(*f.server, "HALLMARK_DAA_SERVER", defaultServer)
	roots, err := e.roots(*f.caFile, *f.dataDir)
	if err != nil {
		return nil, err
	}
	client, err := agent.NewClient(server, roots, 0)
	if err != nil {
		return nil, &cli.UsageError{Msg: fmt.Sprintf("invalid server URL %q", server),
			Hint: "give the DAA's https URL, such as --server " + defaultServer}
	}

	d := &device{client: client}
	if d.rot, d.id, err = loadKey(*f.key); err != nil {
		return nil, err
	}
	if d.boot, err = agent.LoadManifest(*f.manifest); err != nil {
		return nil, &cli.Error{Err: err, Hint: "run 'hallmark " + c.fs.Name() +
			" -h' for the manifest format"}
	}
	return d, nil
}

// roots returns the certificates to trust for the DAA: those of caFile, or
// of the server's own certificate in the data directory if it exists; nil
// means the system's roots.
func (e *env) roots(caFile, dataDir string) (*x509.CertPool, error) {
	caFile = e.pick(caFile, "HALLMARK_CA_FILE", "")
	hint := "check --ca-file or HALLMARK_CA_FILE"
	if caFile == "" {
		dataDir = e.pick(dataDir, "HALLMARK_DATA_DIR", defaultDataDir)
		caFile = filepath.Join(dataDir, "tls", "admin.crt")
		if _, err := os.Stat(caFile); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		hint = "pass --ca-file, or check the permissions of " + caFile
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, &cli.Error{Msg: "read CA file", Err: err, Hint: hint}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, &cli.Error{Msg: "no PEM certificate in CA file " + caFile, Hint: hint}
	}
	return pool, nil
}

func (e *env) attest(ctx context.Context, c *call) error {
	f := defineDAAFlags(c)
	d, err := e.setup(c, f)
	if err != nil {
		return err
	}
	defer d.client.CloseIdleConnections()
	creds, err := d.client.Attest(ctx, d.rot, d.boot)
	if err != nil {
		return explain(err, d.id)
	}
	if err := agent.WriteCredentials(*f.out, creds); err != nil {
		return &cli.Error{Err: err, Hint: "check that --out names a directory you can write"}
	}

	return fields(e.stdout, "",
		"device", d.id.String(),
		"serial", hex.EncodeToString(creds.Certificate.SerialNumber.Bytes()),
		"verdict", creds.Verdict,
		"not after", stamp(creds.NotAfter),
		"renew at", stamp(creds.RenewAt),
		"written", filepath.Join(*f.out, agent.FullChainFile)+", "+
			filepath.Join(*f.out, agent.KeyFile))
}

func (e *env) run(ctx context.Context, c *call) error {
	f := defineDAAFlags(c)
	d, err := e.setup(c, f)
	if err != nil {
		return err
	}
	defer d.client.CloseIdleConnections()
	err = agent.Run(ctx, agent.RunConfig{
		Client:       d.client,
		RootOfTrust:  d.rot,
		ManifestPath: *f.manifest,
		Dir:          *f.out,
		Logger:       newLogger(e.stderr),
	})
	if err != nil {
		return &cli.Error{Err: err}
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// newLogger logs text to a terminal and JSON otherwise.
func newLogger(w io.Writer) *slog.Logger {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return slog.New(slog.NewTextHandler(w, nil))
		}
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}
