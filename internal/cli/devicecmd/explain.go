package devicecmd

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/agent"
	"github.com/hallmark-project/hallmark/internal/cli"
)

// explain turns a failed attestation into an error with a hint.
func explain(err error, id deviceid.ID) error {
	var refused *agent.RefusedError
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &refused):
		return &cli.Error{Err: refusal{refused}, Hint: refusalHint(refused, id)}
	case errors.As(err, &unknown), errors.As(err, &host):
		return &cli.Error{Err: err, Hint: "pass --ca-file with the DAA's TLS certificate, " +
			"such as hallmark-data/tls/admin.crt of the server"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &cli.Error{Err: err, Hint: "is 'hallmark serve' running? " +
			"check --server or HALLMARK_DAA_SERVER (default " + defaultServer + ")"}
	case errors.Is(err, context.DeadlineExceeded):
		return &cli.Error{Err: err, Hint: "the DAA did not answer in time; try again"}
	}
	return &cli.Error{Err: err}
}

// refusal prints a DAA refusal with the appraisal of each component.
type refusal struct {
	*agent.RefusedError
}

func (r refusal) Error() string {
	var b strings.Builder
	b.WriteString(r.RefusedError.Error())
	for _, c := range r.Components {
		fmt.Fprintf(&b, "\n  component %s", c.Name)
		if c.Version != "" {
			fmt.Fprintf(&b, " %s", c.Version)
		}
		fmt.Fprintf(&b, ": %s", c.Verdict)
		if c.Reason != "" {
			fmt.Fprintf(&b, " (%s)", c.Reason)
		}
	}
	return b.String()
}

func (r refusal) Unwrap() error { return r.RefusedError }

// refusalHint suggests the next step for the DAA's refusal codes, which
// package verifier and package daa define.
func refusalHint(r *agent.RefusedError, id deviceid.ID) string {
	switch {
	case r.Code == "unknown_device":
		return "an operator registers the device ID with 'hallmark device register'"
	case r.Code == "device_unclaimed":
		return "a tenant claims the device: hallmark device claim " + id.String() +
			" --tenant TENANT"
	case r.Code == "device_blocked":
		return "a tenant admin lifts the block with 'hallmark device unblock " +
			id.String() + "'"
	case strings.HasPrefix(r.Code, "software_"):
		return "boot software that the trusted software catalogue lists, or have the " +
			"operator add it to the catalogue"
	case strings.HasPrefix(r.Code, "nonce_"):
		return "try again: a challenge is good for one attestation within 60 seconds"
	case r.RetryAfter > 0:
		return fmt.Sprintf("try again in %v", r.RetryAfter.Round(time.Second))
	case r.Code == "":
		return "check that --server is the DAA listener (default " + defaultServer +
			"), not the admin API"
	case r.Status >= 500:
		return "the DAA failed; try again later, and see the server's log"
	}
	return ""
}
