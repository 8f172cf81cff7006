package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/internal/cli"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
)

func TestCheckCertificate(t *testing.T) {
	f := newFakeServer(t)
	d, err := newDevice()
	if err != nil {
		t.Fatal(err)
	}
	other, err := newDevice()
	if err != nil {
		t.Fatal(err)
	}
	good, err := f.issue(d.id, d.certKey)
	if err != nil {
		t.Fatal(err)
	}
	otherName, err := f.issue(other.id, d.certKey)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := f.issue(d.id, other.certKey)
	if err != nil {
		t.Fatal(err)
	}
	garbled := strings.Replace(good, "MII", "MIX", 1)

	tests := []struct {
		name string
		res  wire.AttestationResponse
		want string // "" for no error
	}{
		{"good", wire.AttestationResponse{Certificate: good, Chain: good}, ""},
		{"not PEM", wire.AttestationResponse{Certificate: "hello", Chain: good},
			"not PEM"},
		{"not a certificate", wire.AttestationResponse{Certificate: garbled, Chain: good},
			"parse certificate"},
		{"another device", wire.AttestationResponse{Certificate: otherName, Chain: good},
			"CN is not the device ID"},
		{"another key", wire.AttestationResponse{Certificate: otherKey, Chain: good},
			"does not carry the CSR's key"},
		{"no chain", wire.AttestationResponse{Certificate: good}, "no chain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCertificate(tt.res, d)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("checkCertificate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("checkCertificate: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestAnswerFailure(t *testing.T) {
	tests := []struct {
		name   string
		status int
		answer string
		err    error
		want   string // the key; "" for no failure
	}{
		{"created", http.StatusCreated, `{}`, nil, ""},
		{"coded", http.StatusBadRequest, `{"error":{"code":"nonce_expired","message":"m"}}`,
			nil, "attestation/nonce_expired"},
		{"not JSON", http.StatusBadGateway, `<html>`, nil, "attestation/http_502"},
		{"no code", http.StatusForbidden, `{"error":{}}`, nil, "attestation/http_403"},
		{"transport", 0, "", errors.New("connection reset"), "attestation/transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := answerFailure("attestation", tt.status, []byte(tt.answer), tt.err)
			got := ""
			if f != nil {
				got = f.Key
			}
			if got != tt.want {
				t.Errorf("answerFailure = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name string
		err  error
		hint string
	}{
		{"unauthenticated", &apiError{Status: 401}, "check --token"},
		{"forbidden", &apiError{Status: 403}, "operator token"},
		{"server's hint", &apiError{Status: 409, Hint: "try again"}, "try again"},
		{"rate limited", &failure{Key: "challenge/rate_limited"}, "--device-rate 0"},
		{"untrusted", &failure{Key: "challenge/transport",
			Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}},
			"pass --ca-file"},
		{"refused", &failure{Key: "challenge/transport", Err: &net.OpError{Op: "dial",
			Err: errors.New("connection refused")}}, "is the server running"},
		{"other refusal", &failure{Key: "attestation/csr_invalid"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ce *cli.Error
			if err := explain(tt.err); !errors.As(err, &ce) || !errors.Is(err, tt.err) {
				t.Fatalf("explain = %v, want a *cli.Error wrapping the cause", err)
			}
			if !strings.Contains(ce.Hint, tt.hint) || tt.hint == "" && ce.Hint != "" {
				t.Errorf("hint %q, want %q", ce.Hint, tt.hint)
			}
		})
	}
	if err := explain(context.Canceled); !errors.Is(err, context.Canceled) ||
		!strings.Contains(err.Error(), "interrupted") {
		t.Errorf("explain(context.Canceled) = %v", err)
	}
}
