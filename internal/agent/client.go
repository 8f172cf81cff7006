package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds each request to the DAA when NewClient is given none.
const DefaultTimeout = 30 * time.Second

// maxAnswer bounds the body of a DAA answer.
const maxAnswer = 1 << 20

// Client speaks the DAA protocol over HTTPS. It keeps connections alive
// between requests and is safe for concurrent use.
type Client struct {
	base string // scheme, host and path prefix, without a trailing slash
	http *http.Client
	now  func() time.Time // for Retry-After dates
}

// NewClient returns a client of the DAA at baseURL, an https URL such as
// https://localhost:8444. It trusts rootCAs for the DAA's TLS certificate, or
// the system's roots if rootCAs is nil, and needs TLS 1.3. timeout bounds
// each request; 0 means DefaultTimeout.
func NewClient(baseURL string, rootCAs *x509.CertPool, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("agent: DAA URL %q must be https://HOST[:PORT][/PATH]", baseURL)
	}
	if timeout < 0 {
		return nil, fmt.Errorf("agent: negative timeout %v", timeout)
	}
	if timeout == 0 {
		timeout = DefaultTimeout
	}

	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: rootCAs}
	return &Client{
		base: strings.TrimSuffix(u.String(), "/"),
		http: &http.Client{
			Transport: t,
			Timeout:   timeout,
			// The protocol has no redirects; an answer that is one is refused.
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		now: time.Now,
	}, nil
}

// CloseIdleConnections closes the connections kept alive for later requests.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// post sends in as JSON to path and decodes a 201 answer into out. op names
// the request in errors. Any other answer is a [*RefusedError].
func (c *Client) post(ctx context.Context, op, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("agent: %s: encode request: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path,
		bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("agent: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("agent: %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("agent: %s: read answer: %w", op, err)
	}
	if len(raw) > maxAnswer {
		return fmt.Errorf("agent: %s: answer is larger than %d bytes", op, maxAnswer)
	}

	if resp.StatusCode != http.StatusCreated {
		return newRefusedError(op, resp, raw, c.now())
	}
	// Unknown fields are allowed: a newer DAA may add some.
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("agent: %s: decode answer: %w", op, err)
	}
	return nil
}
