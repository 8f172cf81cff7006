package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	// requestTimeout bounds each request, from dialling to the last byte.
	requestTimeout = 30 * time.Second
	// maxAnswer bounds the body of an answer.
	maxAnswer = 32 << 20
)

// client calls the admin API over HTTPS with a bearer token.
type client struct {
	base  string // scheme, host and path prefix, without a trailing slash
	token string
	http  *http.Client
}

func newClient(c connFlags) (*client, error) {
	u, err := url.Parse(c.server)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, &UsageError{Msg: fmt.Sprintf("invalid server URL %q", c.server),
			Hint: "give an https URL such as --server " + defaultServer}
	}
	if c.token == "" {
		return nil, &Error{Msg: "no admin token",
			Hint: "set HALLMARK_TOKEN (or pass --token) to a token from 'hallmark init' " +
				"or 'hallmark token create'"}
	}
	roots, err := loadRoots(c.caFile, c.dataDir)
	if err != nil {
		return nil, err
	}

	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: roots}
	return &client{
		base:  strings.TrimSuffix(u.String(), "/"),
		token: c.token,
		http: &http.Client{
			Transport: t,
			Timeout:   requestTimeout,
			// A redirect is not part of the API; following one could send
			// the token elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}, nil
}

// loadRoots returns the pool of caFile or, without one, of the server's
// certificate in dataDir if it exists; nil means the system's roots.
func loadRoots(caFile, dataDir string) (*x509.CertPool, error) {
	hint := "check --ca-file or HALLMARK_CA_FILE"
	if caFile == "" {
		caFile = filepath.Join(dataDir, "tls", "admin.crt")
		if _, err := os.Stat(caFile); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		hint = "pass --ca-file, or check the permissions of " + caFile
	}
	data, err := os.ReadFile(caFile)
	if err != nil {
		return nil, &Error{Msg: "read CA file", Err: err, Hint: hint}
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, &Error{Msg: fmt.Sprintf("no PEM certificate in CA file %s", caFile),
			Hint: hint}
	}
	return pool, nil
}

// call sends in, if not nil, as a JSON body, and decodes a JSON answer into
// out, if not nil. It returns the answer as sent.
func (c *client) call(ctx context.Context, method, path string, query url.Values,
	in, out any) ([]byte, error) {
	var body io.Reader
	ctype := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body, ctype = bytes.NewReader(b), "application/json"
	}
	raw, err := c.do(ctx, method, path, query, body, ctype)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := decodeAnswer(raw, out); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

// decodeAnswer decodes raw, a JSON answer, into out.
func decodeAnswer(raw []byte, out any) error {
	if err := json.Unmarshal(raw, out); err != nil {
		return &Error{Msg: "the answer is not the expected JSON", Err: err,
			Hint: "check that --server is Hallmark's admin API"}
	}
	return nil
}

// do sends a request to path, whose variable parts the caller has escaped,
// and returns the body of a successful answer. A failed answer is returned
// as an *apiError when the server explains it.
func (c *client) do(ctx context.Context, method, path string, query url.Values,
	body io.Reader, ctype string) ([]byte, error) {
	target := c.base + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", "hallmark-cli")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, &Error{Msg: "read the answer of " + c.base, Err: err}
	}
	if len(raw) > maxAnswer {
		return nil, &Error{Msg: fmt.Sprintf("the answer of %s is over %d bytes", c.base,
			maxAnswer)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, answerError(resp, raw)
	}
	return raw, nil
}

// apiError is the error body of the admin API:
//
//	{"error": {"code": "...", "message": "...", "hint": "...", "lines": [...]}}
type apiError struct {
	Code      string      `json:"code"`
	Message   string      `json:"message"`
	Hint      string      `json:"hint"`
	Lines     []lineError `json:"lines"`      // the bad lines of a device batch
	MoreLines int         `json:"more_lines"` // bad lines beyond those listed
}

type lineError struct {
	Line    int    `json:"line"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func (e *apiError) hint() string { return e.Hint }

// answerError turns a failed answer into an error.
func answerError(resp *http.Response, raw []byte) error {
	var body struct {
		Error *apiError `json:"error"`
	}
	if json.Unmarshal(raw, &body) != nil || body.Error == nil || body.Error.Code == "" {
		return &Error{Msg: "the server answered " + resp.Status,
			Hint: "check that --server is Hallmark's admin API"}
	}
	e := body.Error
	if e.Code == "token_invalid" && e.Hint == "" {
		e.Hint = "check --token or HALLMARK_TOKEN"
	}
	return e
}

// transportError explains a request that got no answer.
func (c *client) transportError(ctx context.Context, err error) error {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		netErr   net.Error
		opErr    *net.OpError
	)
	switch {
	case ctx.Err() != nil:
		return &Error{Msg: "interrupted", Err: ctx.Err()}
	case errors.As(err, &unknown):
		return &Error{Msg: c.base + " has a TLS certificate from an unknown authority",
			Hint: "pass --ca-file (or HALLMARK_CA_FILE) with the server's certificate; " +
				"'hallmark serve' writes it to <data-dir>/tls/admin.crt"}
	case errors.As(err, &hostname):
		return &Error{Msg: "the TLS certificate of " + c.base + " is not valid for its host",
			Err: hostname, Hint: "check --server: use a name the certificate holds"}
	case errors.As(err, &invalid):
		return &Error{Msg: "the TLS certificate of " + c.base + " is not valid", Err: invalid,
			Hint: "check the server's certificate and this machine's clock"}
	case errors.As(err, &record),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return &Error{Msg: c.base + " does not speak TLS",
			Hint: "check --server: the admin API is served over https"}
	case errors.As(err, &netErr) && netErr.Timeout():
		return &Error{Msg: fmt.Sprintf("no answer from %s within %v", c.base, requestTimeout),
			Hint: "check --server and that the server is healthy"}
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return &Error{Msg: "cannot connect to " + c.base, Err: opErr,
			Hint: "is `hallmark serve` running? check --server"}
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return &Error{Msg: "the TLS handshake with " + c.base + " failed", Err: opErr.Err,
			Hint: "check --server: the admin API speaks TLS 1.3"}
	}
	return &Error{Msg: "request to " + c.base + " failed", Err: err,
		Hint: "check --server"}
}
