package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/internal/agent/agenttest"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// newDAA starts a fake DAA that the test closes, and fails the test if the
// agent sent it anything an honest DAA would refuse.
func newDAA(t *testing.T) *agenttest.DAA {
	t.Helper()
	d, err := agenttest.NewDAA()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		if f := d.Failures(); len(f) > 0 {
			t.Errorf("the fake DAA refused the agent: %q", f)
		}
	})
	return d
}

func newClient(t *testing.T, d *agenttest.DAA) *Client {
	t.Helper()
	c, err := NewClient(d.URL, d.Roots, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// testDevice returns a test identity key and a boot of two components.
func testDevice(t *testing.T) (RootOfTrust, []evidence.Component) {
	t.Helper()
	rot, _, err := LoadKeyFile(newKeyFile(t))
	if err != nil {
		t.Fatal(err)
	}
	return rot, []evidence.Component{
		{Name: "loader", Version: "1.1", SVN: 2, Digest: [32]byte{1}},
		{Name: "kernel", Version: "6.1", SVN: 7, Digest: [32]byte{2}},
	}
}

func TestAttest(t *testing.T) {
	d := newDAA(t)
	c := newClient(t, d)
	rot, boot := testDevice(t)
	id, err := DeviceID(rot)
	if err != nil {
		t.Fatal(err)
	}

	creds, err := c.Attest(context.Background(), rot, boot)
	if err != nil {
		t.Fatal(err)
	}
	if !creds.Key.PublicKey.Equal(creds.Certificate.PublicKey) {
		t.Error("the certificate is not for the credentials' key")
	}
	if cn := creds.Certificate.Subject.CommonName; cn != id.String() {
		t.Errorf("certificate CN = %q, want the device ID", cn)
	}
	if len(creds.Chain) != 2 || !creds.Chain[0].Equal(d.Chain[0]) ||
		!creds.Chain[1].Equal(d.Chain[1]) {
		t.Error("the chain is not the fake DAA's tenant CA and intermediate")
	}
	if creds.Result.Verdict != attestation.Affirming {
		t.Errorf("result verdict %v, want affirming", creds.Result.Verdict)
	}
	if creds.Verdict != "affirming" || !creds.NotAfter.Equal(creds.Certificate.NotAfter) {
		t.Errorf("verdict %q, not after %v; want affirming and the certificate's",
			creds.Verdict, creds.NotAfter)
	}
	if !creds.RenewAt.After(creds.Certificate.NotBefore) ||
		!creds.RenewAt.Before(creds.NotAfter) {
		t.Errorf("renew at %v is outside the validity", creds.RenewAt)
	}

	var names []string
	for _, comp := range creds.Result.Components {
		names = append(names, comp.Name)
	}
	if diff := cmp.Diff([]string{"loader", "kernel"}, names); diff != "" {
		t.Errorf("result components (-want +got):\n%s", diff)
	}
	accepted := d.Accepted()
	if len(accepted) != 1 {
		t.Fatalf("the fake accepted %d attestations, want 1", len(accepted))
	}
	if diff := cmp.Diff(boot, accepted[0].Components); diff != "" {
		t.Errorf("evidence components (-want +got):\n%s", diff)
	}
}

func TestAttestUsesFreshKeys(t *testing.T) {
	d := newDAA(t)
	c := newClient(t, d)
	rot, boot := testDevice(t)
	first, err := c.Attest(context.Background(), rot, boot)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Attest(context.Background(), rot, boot)
	if err != nil {
		t.Fatal(err)
	}
	if first.Key.Equal(second.Key) {
		t.Error("two attestations used the same certificate key")
	}
}

// answer returns a hook that answers requests to path with status, the
// headers and body.
func answer(path string, status int, header map[string]string,
	body string) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		return true
	}
}

func TestAttestRefused(t *testing.T) {
	json := map[string]string{"Content-Type": "application/json"}
	for _, tc := range []struct {
		name   string
		hook   func(http.ResponseWriter, *http.Request) bool
		want   RefusedError
		errHas string
	}{
		{
			name: "blocked device",
			hook: answer(wire.ChallengesPath, 403, json,
				`{"error":{"code":"device_blocked","message":"the device is blocked"}}`),
			want: RefusedError{Op: "challenge", Status: 403, Code: "device_blocked",
				Message: "the device is blocked"},
			errHas: "refused the challenge: device_blocked: the device is blocked (HTTP 403)",
		},
		{
			name: "revoked software",
			hook: answer(wire.AttestationsPath, 403, json,
				`{"error":{"code":"software_revoked","message":"revoked","components":[`+
					`{"name":"loader","version":"1.1","verdict":"contraindicated",`+
					`"reason":"revoked"},`+
					`{"name":"kernel","verdict":"affirming","reason":"trusted"}]}}`),
			want: RefusedError{Op: "attestation", Status: 403, Code: "software_revoked",
				Message: "revoked", Components: []wire.ComponentOutcome{
					{Name: "loader", Version: "1.1", Verdict: "contraindicated",
						Reason: "revoked"},
					{Name: "kernel", Verdict: "affirming", Reason: "trusted"}}},
		},
		{
			name: "rate limited",
			hook: answer(wire.ChallengesPath, 429, map[string]string{"Retry-After": "7"},
				`{"error":{"code":"rate_limited","message":"retry later"}}`),
			want: RefusedError{Op: "challenge", Status: 429, Code: "rate_limited",
				Message: "retry later", RetryAfter: 7 * time.Second},
		},
		{
			name: "rate limited for too long",
			hook: answer(wire.ChallengesPath, 429, map[string]string{"Retry-After": "86400"},
				`{"error":{"code":"rate_limited","message":"retry later"}}`),
			want: RefusedError{Op: "challenge", Status: 429, Code: "rate_limited",
				Message: "retry later", RetryAfter: time.Hour},
		},
		{
			name: "retry after ignored on 403",
			hook: answer(wire.ChallengesPath, 403, map[string]string{"Retry-After": "7"},
				`{"error":{"code":"device_blocked","message":"blocked"}}`),
			want: RefusedError{Op: "challenge", Status: 403, Code: "device_blocked",
				Message: "blocked"},
		},
		{
			name: "not a DAA error",
			hook: answer(wire.ChallengesPath, 502, nil, `<html>bad gateway</html>`),
			want: RefusedError{Op: "challenge", Status: 502,
				Message: "the answer is not a DAA error"},
			errHas: "HTTP 502 Bad Gateway",
		},
		{
			name: "control characters",
			hook: answer(wire.ChallengesPath, 403, json,
				`{"error":{"code":"x\u001b[31m","message":"a\nb\u0007"}}`),
			want: RefusedError{Op: "challenge", Status: 403, Code: "x[31m", Message: "ab"},
		},
		{
			name: "redirect",
			hook: answer(wire.ChallengesPath, 302, map[string]string{"Location": "/x"}, ``),
			want: RefusedError{Op: "challenge", Status: 302,
				Message: "the answer is not a DAA error"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDAA(t)
			d.SetHook(tc.hook)
			rot, boot := testDevice(t)
			_, err := newClient(t, d).Attest(context.Background(), rot, boot)
			var refused *RefusedError
			if !errors.As(err, &refused) {
				t.Fatalf("Attest: %v, want a *RefusedError", err)
			}
			if diff := cmp.Diff(tc.want, *refused); diff != "" {
				t.Errorf("refusal (-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %q does not contain %q", err, tc.errHas)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name, value string
		want        time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "120", 2 * time.Minute},
		{"spaces", " 3 ", 3 * time.Second},
		{"zero", "0", 0},
		{"negative", "-5", 0},
		{"huge", "99999999999999999", time.Hour},
		{"date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"past date", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"far date", now.Add(48 * time.Hour).Format(http.TimeFormat), time.Hour},
		{"garbage", "soon", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseRetryAfter(tc.value, now); got != tc.want {
				t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

// TestAttestBadAnswer makes the DAA answer with certificates that do not
// fit the request.
func TestAttestBadAnswer(t *testing.T) {
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherID, err := DeviceID(otherKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		issue  func(*agenttest.Issuance)
		answer func(*wire.AttestationResponse)
		want   string
	}{
		{name: "other key", issue: func(i *agenttest.Issuance) {
			i.PublicKey = &otherKey.PublicKey
		}, want: "not for the requested key"},
		{name: "other device", issue: func(i *agenttest.Issuance) {
			i.CommonName = otherID.String()
		}, want: "common name is not the device ID"},
		{name: "no attestation result", issue: func(i *agenttest.Issuance) {
			i.Result = nil
		}, want: "no attestation result"},
		{name: "two certificates", answer: func(a *wire.AttestationResponse) {
			a.Certificate += a.Certificate
		}, want: "2 certificates, want 1"},
		{name: "no certificate", answer: func(a *wire.AttestationResponse) {
			a.Certificate = ""
		}, want: "0 certificates, want 1"},
		{name: "certificate not PEM", answer: func(a *wire.AttestationResponse) {
			a.Certificate = "MIIB"
		}, want: "data that is not PEM"},
		{name: "key in the chain", answer: func(a *wire.AttestationResponse) {
			a.Chain = pemText("PRIVATE KEY", []byte{1})
		}, want: "want CERTIFICATE"},
		{name: "broken certificate", answer: func(a *wire.AttestationResponse) {
			a.Certificate = pemText("CERTIFICATE", []byte{0x30, 0})
		}, want: "certificate:"},
		{name: "empty chain", answer: func(a *wire.AttestationResponse) {
			a.Chain = ""
		}, want: "chain is empty"},
		{name: "chain in the wrong order", answer: func(a *wire.AttestationResponse) {
			certs, _ := parseCertificates(a.Chain)
			a.Chain = pemText("CERTIFICATE", certs[1].Raw) +
				pemText("CERTIFICATE", certs[0].Raw)
		}, want: "not signed by the chain's first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDAA(t)
			d.SetIssuing(tc.issue)
			d.SetAnswering(tc.answer)
			rot, boot := testDevice(t)
			_, err := newClient(t, d).Attest(context.Background(), rot, boot)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Attest: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAttestRenewAtOutsideValidity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		renewAt func(a *wire.AttestationResponse) time.Time
	}{
		{"none", func(*wire.AttestationResponse) time.Time { return time.Time{} }},
		{"after expiry", func(a *wire.AttestationResponse) time.Time {
			return a.NotAfter.Add(time.Hour)
		}},
		{"before validity", func(a *wire.AttestationResponse) time.Time {
			return a.NotBefore.Add(-time.Hour)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDAA(t)
			d.SetAnswering(func(a *wire.AttestationResponse) { a.RenewAt = tc.renewAt(a) })
			rot, boot := testDevice(t)
			creds, err := newClient(t, d).Attest(context.Background(), rot, boot)
			if err != nil {
				t.Fatal(err)
			}
			cert := creds.Certificate
			want := cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) * 2 / 3)
			if !creds.RenewAt.Equal(want) {
				t.Errorf("renew at %v, want two thirds into the validity, %v",
					creds.RenewAt, want)
			}
		})
	}
}

func TestAttestInputErrors(t *testing.T) {
	d := newDAA(t)
	c := newClient(t, d)
	rot, boot := testDevice(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		rot  RootOfTrust
		boot []evidence.Component
		want string
	}{
		{"no root of trust", context.Background(), nil, boot, "no root of trust"},
		{"P-384 identity", context.Background(), p384, boot, "P-256"},
		{"no components", context.Background(), rot, nil, "components"},
		{"cancelled", cancelled, rot, boot, "context canceled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Attest(tc.ctx, tc.rot, tc.boot)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Attest: %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestAttestShortNonce(t *testing.T) {
	d := newDAA(t)
	d.SetHook(answer(wire.ChallengesPath, 201, nil,
		`{"nonce":"AAAAAAAAAAAAAAAAAAAAAA==","expires_at":"2030-01-01T00:00:00Z"}`))
	rot, boot := testDevice(t)
	_, err := newClient(t, d).Attest(context.Background(), rot, boot)
	if err == nil || !strings.Contains(err.Error(), "must be 32 bytes") {
		t.Errorf("Attest: %v, want a nonce size error", err)
	}
}

func TestAttestTLS(t *testing.T) {
	rot, boot := testDevice(t)
	t.Run("untrusted server", func(t *testing.T) {
		d := newDAA(t)
		c, err := NewClient(d.URL, x509.NewCertPool(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Attest(context.Background(), rot, boot)
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Errorf("Attest: %v, want x509.UnknownAuthorityError", err)
		}
	})
	t.Run("TLS 1.2 server", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS12}
		srv.StartTLS()
		defer srv.Close()
		roots := x509.NewCertPool()
		roots.AddCert(srv.Certificate())
		c, err := NewClient(srv.URL, roots, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Attest(context.Background(), rot, boot)
		if err == nil || !strings.Contains(err.Error(), "protocol version") {
			t.Errorf("Attest: %v, want a protocol version error", err)
		}
	})
}

func TestNewClientErrors(t *testing.T) {
	for _, tc := range []struct {
		name, url string
		timeout   time.Duration
	}{
		{"http", "http://localhost:8444", 0},
		{"no host", "https:///daa", 0},
		{"user", "https://u:p@localhost:8444", 0},
		{"query", "https://localhost:8444/?a=b", 0},
		{"fragment", "https://localhost:8444/#x", 0},
		{"not a URL", "://", 0},
		{"negative timeout", "https://localhost:8444", -time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewClient(tc.url, nil, tc.timeout); err == nil {
				t.Errorf("NewClient(%q, %v) succeeded", tc.url, tc.timeout)
			}
		})
	}
}
