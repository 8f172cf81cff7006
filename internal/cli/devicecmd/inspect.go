package devicecmd

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/internal/cli"
)

// maxCertFile bounds the input of cert inspect.
const maxCertFile = 1 << 20

func (e *env) inspect(_ context.Context, c *call) error {
	output := c.flags().String("output", "",
		"output `FORMAT`: text or json (HALLMARK_OUTPUT; default text)")
	pos, err := c.parse(1)
	if err != nil {
		return err
	}
	format := e.pick(*output, "HALLMARK_OUTPUT", "text")
	if format != "text" && format != "json" {
		return &cli.UsageError{Msg: fmt.Sprintf("unknown output format %q", format),
			Hint: "use --output text or --output json (or HALLMARK_OUTPUT)"}
	}

	cert, err := e.readCertificate(pos[0])
	if err != nil {
		return err
	}
	res, err := attestation.FromCertificate(cert)
	switch {
	case errors.Is(err, attestation.ErrNotPresent):
		return &cli.Error{Msg: "no attestation result in the certificate",
			Hint: "only device certificates from the DAA carry one; " + pos[0] +
				" may be a CA or proof-of-possession certificate"}
	case err != nil:
		return &cli.Error{Msg: "invalid attestation result in the certificate", Err: err}
	}

	view := newCertView(cert, res)
	if format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(view); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	return view.print(e.stdout)
}

// readCertificate reads the first certificate of a PEM file, or a DER one;
// "-" is standard input.
func (e *env) readCertificate(name string) (*x509.Certificate, error) {
	var r io.Reader = e.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, &cli.Error{Msg: "read certificate", Err: err}
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxCertFile+1))
	if err != nil {
		return nil, &cli.Error{Msg: "read certificate", Err: err}
	}
	if len(data) > maxCertFile {
		return nil, &cli.Error{Msg: fmt.Sprintf("%s is larger than %d bytes", name,
			maxCertFile)}
	}

	der := data
	if bytes.Contains(data, []byte("-----BEGIN")) {
		der = nil
		for rest := data; der == nil; {
			var block *pem.Block
			if block, rest = pem.Decode(rest); block == nil {
				return nil, &cli.Error{Msg: "no CERTIFICATE block in " + name}
			}
			if block.Type == "CERTIFICATE" {
				der = block.Bytes
			}
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, &cli.Error{Msg: "parse certificate " + name, Err: err,
			Hint: "give a certificate in PEM or DER"}
	}
	return cert, nil
}

// certView is what cert inspect shows, and its JSON.
type certView struct {
	Subject     string     `json:"subject"`
	Issuer      string     `json:"issuer"`
	Serial      string     `json:"serial"` // hex
	NotBefore   time.Time  `json:"not_before"`
	NotAfter    time.Time  `json:"not_after"`
	KeyUsage    []string   `json:"key_usage"`
	ExtKeyUsage []string   `json:"ext_key_usage"`
	Attestation resultView `json:"attestation"`
}

type resultView struct {
	Verdict          attestation.Verdict `json:"verdict"`
	AppraisedAt      time.Time           `json:"appraised_at"`
	EvidenceDigest   string              `json:"evidence_digest"` // hex
	CatalogueVersion int64               `json:"catalogue_version"`
	Components       []componentView     `json:"components"`
}

type componentView struct {
	Name    string              `json:"name"`
	Version string              `json:"version"`
	Digest  string              `json:"digest"` // hex
	Verdict attestation.Verdict `json:"verdict"`
}

func newCertView(cert *x509.Certificate, res attestation.Result) certView {
	v := certView{
		Subject:     cert.Subject.String(),
		Issuer:      cert.Issuer.String(),
		Serial:      hex.EncodeToString(cert.SerialNumber.Bytes()),
		NotBefore:   cert.NotBefore.UTC(),
		NotAfter:    cert.NotAfter.UTC(),
		KeyUsage:    keyUsageNames(cert.KeyUsage),
		ExtKeyUsage: extKeyUsageNames(cert),
		Attestation: resultView{
			Verdict:          res.Verdict,
			AppraisedAt:      res.AppraisedAt.UTC(),
			EvidenceDigest:   hex.EncodeToString(res.EvidenceDigest[:]),
			CatalogueVersion: res.CatalogueVersion,
			Components:       []componentView{},
		},
	}
	for _, c := range res.Components {
		v.Attestation.Components = append(v.Attestation.Components, componentView{
			Name: c.Name, Version: c.Version, Digest: hex.EncodeToString(c.Digest[:]),
			Verdict: c.Verdict})
	}
	return v
}

func (v certView) print(w io.Writer) error {
	err := fields(w, "",
		"subject", v.Subject,
		"issuer", v.Issuer,
		"serial", v.Serial,
		"not before", stamp(v.NotBefore),
		"not after", stamp(v.NotAfter),
		"key usage", joinOrDash(v.KeyUsage),
		"ext key usage", joinOrDash(v.ExtKeyUsage))
	if err != nil {
		return err
	}
	fmt.Fprint(w, "\nattestation result:\n")
	err = fields(w, "  ",
		"verdict", v.Attestation.Verdict.String(),
		"appraised at", stamp(v.Attestation.AppraisedAt),
		"evidence digest", v.Attestation.EvidenceDigest,
		"catalogue", fmt.Sprint(v.Attestation.CatalogueVersion))
	if err != nil {
		return err
	}

	fmt.Fprint(w, "  components:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    NAME\tVERSION\tVERDICT\tDIGEST")
	for _, c := range v.Attestation.Components {
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\n", c.Name, orDash(c.Version), c.Verdict,
			c.Digest)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// fields prints name and value pairs, one to a line after indent, values
// aligned.
func fields(w io.Writer, indent string, pairs ...string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i := 0; i+1 < len(pairs); i += 2 {
		fmt.Fprintf(tw, "%s%s\t%s\n", indent, pairs[i], pairs[i+1])
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinOrDash(names []string) string {
	if len(names) == 0 {
		return "-"
	}
	s := names[0]
	for _, n := range names[1:] {
		s += ", " + n
	}
	return s
}
