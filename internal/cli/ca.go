package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// caJSON is a tenant CA certificate as the API lists it.
type caJSON struct {
	Thumbprint string    `json:"thumbprint"`
	Generation int       `json:"generation"`
	State      string    `json:"state"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	ActiveFrom time.Time `json:"active_from"`
}

func runCAList(ctx context.Context, s *session) error {
	tenant := s.fs.String("tenant", "", "the tenant `ID`; default: the token's")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	t, err := s.tenant(ctx, *tenant, "pass --tenant ID")
	if err != nil {
		return err
	}
	var list struct {
		Certificates []caJSON `json:"certificates"`
	}
	path := "/api/v1/tenants/" + url.PathEscape(t) + "/certificates"
	raw, err := s.api.call(ctx, "GET", path, nil, nil, &list)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		if len(list.Certificates) == 0 {
			_, err := fmt.Fprintln(w, "no CA certificates")
			return err
		}
		tab := newTable(w, "THUMBPRINT", "GENERATION", "STATE", "NOT BEFORE", "NOT AFTER",
			"ACTIVE FROM")
		for _, c := range list.Certificates {
			tab.row(c.Thumbprint, strconv.Itoa(c.Generation), c.State, stamp(c.NotBefore),
				stamp(c.NotAfter), stamp(c.ActiveFrom))
		}
		return tab.flush()
	})
}

// download holds the flags of the ca download commands.
type download struct {
	formats    []string // the formats the command offers; the first is the default
	tenant     string
	thumbprint string
	format     string
	out        string
}

func (s *session) downloadFlags(formats ...string) *download {
	d := &download{formats: formats}
	s.fs.StringVar(&d.tenant, "tenant", "", "the tenant `ID`; default: the token's")
	s.fs.StringVar(&d.thumbprint, "thumbprint", "active",
		"the `THUMBPRINT` of the CA certificate, or active for the CA that\n"+
			"signs now")
	s.fs.StringVar(&d.format, "format", formats[0],
		"the file `FORMAT`: "+strings.Join(formats, " or "))
	s.fs.StringVar(&d.out, "out", "",
		"write to `FILE` (mode 0644) instead of standard output; needed for\n"+
			"binary formats, unless FILE is - for standard output")
	return d
}

// check refuses a format the command does not offer, and a binary format
// for a terminal.
func (d *download) check() error {
	if !slices.Contains(d.formats, d.format) {
		return &UsageError{Msg: fmt.Sprintf("unknown format %q", d.format),
			Hint: "pass --format " + strings.Join(d.formats, " or ")}
	}
	if d.format != "pem" && d.out == "" {
		return &UsageError{Msg: "the " + d.format + " format is binary",
			Hint: "pass --out FILE, or --out - to write it to standard output anyway"}
	}
	return nil
}

// fetch requests the certificate resource at suffix, below the CA's path,
// sending in as its JSON body if not nil, and writes the answer where the
// flags say. A failed request writes nothing.
func (s *session) fetch(ctx context.Context, d *download, method, suffix string,
	in any) error {
	if err := d.check(); err != nil {
		return err
	}
	t, err := s.tenant(ctx, d.tenant, "pass --tenant ID")
	if err != nil {
		return err
	}
	path := "/api/v1/tenants/" + url.PathEscape(t) + "/certificates/" +
		url.PathEscape(d.thumbprint) + suffix
	raw, err := s.api.call(ctx, method, path, url.Values{"format": {d.format}}, in, nil)
	if err != nil {
		return err
	}

	if d.out == "" || d.out == "-" {
		if _, err := s.stdout.Write(raw); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	if err := writeFileAtomic(d.out, raw); err != nil {
		return err
	}
	if !s.jsonOutput() {
		fmt.Fprintf(s.stdout, "wrote %s\n", d.out)
	}
	return nil
}

func runCADownload(ctx context.Context, s *session) error {
	d := s.downloadFlags("pem", "der")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	return s.fetch(ctx, d, "GET", "", nil)
}

func runCADownloadChain(ctx context.Context, s *session) error {
	d := s.downloadFlags("pem", "pkcs7")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	return s.fetch(ctx, d, "GET", "/chain", nil)
}

func runCADownloadProof(ctx context.Context, s *session) error {
	var in struct {
		VerificationCode string `json:"verification_code"`
		Lifetime         string `json:"lifetime,omitempty"`
	}
	s.fs.StringVar(&in.VerificationCode, "verification-code", "",
		"the `CODE` to prove possession for; the certificate's CN")
	s.fs.StringVar(&in.Lifetime, "lifetime", "",
		"the certificate's `LIFETIME`, at most and by default 1h")
	d := s.downloadFlags("pem", "der")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	if in.VerificationCode == "" {
		return &UsageError{Msg: "missing --verification-code",
			Hint: "pass the code the service asks you to prove, --verification-code CODE"}
	}
	return s.fetch(ctx, d, "POST", "/proof", in)
}
