package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/agent"
	"github.com/hallmark-project/hallmark/internal/config"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// tokenRE finds a token secret in what open printed.
var tokenRE = regexp.MustCompile(`hm_[A-Za-z0-9_-]{43}`)

// Demo runs the whole flow on the embedded default: it starts every service
// on SQLite in a fresh directory, publishes a trusted software catalogue,
// creates a tenant, registers and claims simulated devices, has each attest
// (one boots a revoked kernel and is refused), and prints what happened.
func Demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "keep the demo's data in this `directory` (default: a "+
		"temporary one, removed at the end)")
	devices := fs.Int("devices", 4, "how many simulated `devices` attest (at least 2)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *devices < 2 || *devices > 1000 {
		return errors.New("--devices must be from 2 to 1000")
	}
	root := *dir
	if root == "" {
		tmp, err := os.MkdirTemp("", "hallmark-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		root = tmp
	}

	fs2 := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg, apply := config.Flags(fs2)
	err := fs2.Parse([]string{"--data-dir", filepath.Join(root, "data"),
		"--kek-file", filepath.Join(root, "secrets", "kek"), "--admin-addr", "127.0.0.1:0",
		"--daa-addr", "127.0.0.1:0", "--pki-addr", "", "--metrics-addr", ""})
	if err == nil {
		err = apply()
	}
	if err != nil {
		return err
	}
	cfg.KEK = "" // the demo's own KEK file, whatever the environment says
	var tokenOut bytes.Buffer
	log := slog.New(slog.DiscardHandler)
	sys, err := open(ctx, cfg, log, &tokenOut)
	if err != nil {
		return err
	}
	defer sys.Close()

	addrs := make(chan [2]string, 1)
	var admin, daaAddr string
	sys.onListen = func(name, addr string) {
		switch name {
		case "admin":
			admin = addr
		case "daa":
			daaAddr = addr
		}
		if admin != "" && daaAddr != "" {
			addrs <- [2]string{admin, daaAddr}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- sys.serve(ctx) }()
	var a [2]string
	select {
	case a = <-addrs:
	case err := <-done:
		return err
	}
	d := &demo{out: stdout, operator: tokenRE.FindString(tokenOut.String()),
		admin: "https://" + a[0], daa: "https://" + a[1]}
	fmt.Fprintf(stdout, "Hallmark is running on SQLite in %s\n  admin API %s\n  DAA       %s\n\n",
		cfg.DataDir, d.admin, d.daa)
	if err := d.run(ctx, filepath.Join(cfg.DataDir, AdminCertFile), *devices); err != nil {
		return err
	}
	cancel()
	return <-done
}

// demo is the client side of Demo.
type demo struct {
	out        io.Writer
	operator   string
	admin, daa string
	http       *http.Client
}

// demoBoot returns a component as the simulated devices measure it.
func demoBoot(name, version string, svn uint64) evidence.Component {
	return evidence.Component{Name: name, Version: version, SVN: svn,
		Digest: sha256.Sum256([]byte("demo " + name + " " + version))}
}

func (d *demo) run(ctx context.Context, certFile string, n int) error {
	pem, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	d.http = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}

	loader10, loader11 := demoBoot("loader", "1.0", 1), demoBoot("loader", "1.1", 2)
	kernel, revoked := demoBoot("kernel", "5.4.2", 7), demoBoot("kernel", "5.4.1-rc", 6)
	doc := map[string]any{"components": []map[string]any{
		{"name": "loader", "min_svn": 1, "trusted": []any{release(loader10), release(loader11)}},
		{"name": "kernel", "min_svn": 7, "trusted": []any{release(kernel)},
			"revoked": []string{hexDigest(revoked)}},
	}}
	var pub struct{ Version int64 }
	if err := d.call("PUT", "/api/v1/catalogue", d.operator, doc, &pub); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "1. The operator published trusted software catalogue version %d: loader "+
		"1.0 and 1.1, kernel 5.4.2; kernel 5.4.1-rc revoked.\n", pub.Version)

	var tn struct{ ID string }
	if err := d.call("POST", "/api/v1/tenants", d.operator,
		map[string]string{"name": "demo-fleet"}, &tn); err != nil {
		return err
	}
	admin, err := d.token("tenant-admin", tn.ID)
	if err != nil {
		return err
	}
	mfg, err := d.token("manufacturer", "")
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "2. The operator created tenant demo-fleet (%s) and its CA.\n", tn.ID)

	keys := make([]*ecdsa.PrivateKey, n)
	var batch strings.Builder
	batch.WriteString("device_id\n")
	ids := make([]string, n)
	for i := range keys {
		keys[i], err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		id, err := deviceid.FromPublicKey(&keys[i].PublicKey)
		if err != nil {
			return err
		}
		ids[i] = id.String()
		batch.WriteString(ids[i] + "\n")
	}
	if err := d.callRaw("POST", "/api/v1/devices", mfg, "text/csv",
		[]byte(batch.String()), nil); err != nil {
		return err
	}
	for _, id := range ids {
		path := "/api/v1/tenants/" + tn.ID + "/devices/" + id + "/claim"
		if err := d.call("POST", path, admin, nil, nil); err != nil {
			return err
		}
	}
	fmt.Fprintf(d.out, "3. The manufacturer registered %d devices; the tenant claimed them.\n\n", n)

	client, err := agent.NewClient(d.daa, pool, 30*time.Second)
	if err != nil {
		return err
	}
	defer client.CloseIdleConnections()
	fmt.Fprintln(d.out, "4. Each device attests:")
	issued := 0
	for i, key := range keys {
		boot := []evidence.Component{loader11, kernel}
		what := "loader 1.1, kernel 5.4.2"
		switch {
		case i == n-1:
			boot, what = []evidence.Component{loader11, revoked}, "loader 1.1, kernel 5.4.1-rc"
		case i == n-2:
			boot, what = []evidence.Component{loader10, kernel}, "loader 1.0, kernel 5.4.2"
		}
		fmt.Fprintf(d.out, "   device %d %s… boots %s\n", i+1, ids[i][:16], what)
		cred, err := client.Attest(ctx, key, boot)
		var ref *agent.RefusedError
		if errors.As(err, &ref) {
			fmt.Fprintf(d.out, "     refused: %s: %s\n", ref.Code, ref.Message)
			continue
		}
		if err != nil {
			return err
		}
		issued++
		res, err := attestation.FromCertificate(cred.Certificate)
		if err != nil {
			return err
		}
		fmt.Fprintf(d.out, "     certificate %x, %s, valid until %s, renew at %s\n",
			cred.Certificate.SerialNumber, res.Verdict, cred.NotAfter.Format(time.RFC3339),
			cred.RenewAt.Format(time.RFC3339))
	}

	var log struct{ Issuances []json.RawMessage }
	if err := d.call("GET", "/api/v1/tenants/"+tn.ID+"/issuances", admin, nil,
		&log); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "\n5. %d of %d devices hold a 24-hour certificate from the tenant CA; "+
		"the tenant's issuance log lists %d.\n", issued, n, len(log.Issuances))
	return nil
}

func release(c evidence.Component) map[string]any {
	return map[string]any{"digest": hexDigest(c), "version": c.Version, "svn": c.SVN}
}

func hexDigest(c evidence.Component) string { return hex.EncodeToString(c.Digest[:]) }

func (d *demo) token(role, tenantID string) (string, error) {
	var t struct{ Secret string }
	err := d.call("POST", "/api/v1/tokens", d.operator,
		map[string]string{"role": role, "tenant_id": tenantID}, &t)
	return t.Secret, err
}

func (d *demo) call(method, path, token string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	return d.callRaw(method, path, token, "application/json", body, out)
}

func (d *demo) callRaw(method, path, token, ctype string, body []byte, out any) error {
	req, err := http.NewRequest(method, d.admin+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}
