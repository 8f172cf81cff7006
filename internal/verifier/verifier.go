// Package verifier decides whether a device is genuine and runs trusted
// software: the device ID verification part of the DAA service.
//
// [Verifier.Verify] takes a device's evidence and certificate request and
// checks, in this order, and stops at the first failure:
//
//  1. the evidence is well formed and names a registered device,
//  2. the device is not blocked,
//  3. the evidence is signed by the key in the device ID,
//  4. the nonce is one this service issued to that device, unexpired, and
//     is consumed now, exactly once, across every replica sharing the store,
//  5. the measured boot is not contraindicated by the trusted software
//     catalogue,
//  6. the device is claimed by a tenant,
//  7. the certificate request is well formed and self-signed,
//  8. its public key is the one the evidence binds.
//
// Each failure is a [*Refusal] with its own stable code. Checks 1 to 3 change
// nothing; from check 4 on the nonce is spent, and nothing else changes.
// [Verifier.Verify] runs every check but the nonce's, and
// [Verifier.Consume] spends the nonce inside the caller's transaction, so
// that the certificate of an accepted attestation is recorded in the same
// write.
//
// A claim is for ever, so the Verifier reads a claimed device from the
// store once and then remembers its tenant. Check 2 is made again where
// the nonce is spent, in the same write as the certificate: a device that
// is blocked at any moment before that write is refused, and the write
// then changes nothing, so the refusals keep their order.
// The verifier issues nothing: package caengine does, for an accepted
// result.
package verifier

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/catalogue"
	"github.com/hallmark-project/hallmark/internal/evidence"
	"github.com/hallmark-project/hallmark/internal/nonce"
	"github.com/hallmark-project/hallmark/internal/store"
)

// MaxCSRSize bounds a certificate request.
const MaxCSRSize = 16 << 10

// Refusal codes. The device learns which check failed, never more.
const (
	CodeEvidenceInvalid     = "evidence_invalid"
	CodeUnknownDevice       = "unknown_device"
	CodeDeviceBlocked       = "device_blocked"
	CodeSignatureInvalid    = "signature_invalid"
	CodeNonceUnknown        = "nonce_unknown"
	CodeNonceReused         = "nonce_reused"
	CodeNonceExpired        = "nonce_expired"
	CodeNonceOtherDevice    = "nonce_other_device"
	CodeSoftwareRevoked     = "software_revoked"
	CodeSoftwareUnknown     = "software_unknown"
	CodeSoftwareBelowMinSVN = "software_svn_below_minimum"
	CodeSoftwareMismatch    = "software_measurement_mismatch"
	CodeSoftwareComponent   = "software_unknown_component"
	CodeSoftwareDuplicate   = "software_measured_twice"
	CodeSoftwareMissing     = "software_component_missing"
	CodeDeviceUnclaimed     = "device_unclaimed"
	CodeCSRInvalid          = "csr_invalid"
	CodeCSRSignature        = "csr_signature_invalid"
	CodeCSRKeyMismatch      = "csr_key_mismatch"
)

// Refusal is a failed check.
type Refusal struct {
	Code    string
	Message string
	// Appraisal is set for the software refusals.
	Appraisal *catalogue.Appraisal
	// Err is the cause, for the log; nil for most refusals.
	Err error
}

func (r *Refusal) Error() string {
	if r.Err != nil {
		return fmt.Sprintf("verifier: %s: %s: %v", r.Code, r.Message, r.Err)
	}
	return fmt.Sprintf("verifier: %s: %s", r.Code, r.Message)
}

func (r *Refusal) Unwrap() error { return r.Err }

func refuse(code, msg string) *Refusal { return &Refusal{Code: code, Message: msg} }

// CatalogueSource gives the catalogue to appraise against.
type CatalogueSource interface {
	Current(ctx context.Context) (*catalogue.Catalogue, error)
}

// Verifier checks attestations. It is safe for concurrent use.
type Verifier struct {
	store     store.Store
	catalogue CatalogueSource
	nonces    *nonce.Codec
	now       func() time.Time
	claims    claims
}

// New returns a Verifier that finds nonces with n and reads the clock now.
func New(s store.Store, c CatalogueSource, n *nonce.Codec, now func() time.Time) *Verifier {
	return &Verifier{store: s, catalogue: c, nonces: n, now: now}
}

// MakeNonce returns a new challenge nonce, made at now, and its stored
// form, for store.Nonce.Value.
func (v *Verifier) MakeNonce(now time.Time) (nonce, stored []byte, err error) {
	return v.nonces.Make(now)
}

// Result is what Verify found. Refusal, if set, is the first check after
// the nonce that failed: it is reported once Consume has spent the nonce.
type Result struct {
	TenantID  string // the tenant that claimed the device; "" if none
	DeviceID  deviceid.ID
	Evidence  *evidence.Evidence
	CSR       *x509.CertificateRequest
	Appraisal catalogue.Appraisal
	Refusal   *Refusal
	nonce     []byte // the stored form of the evidence's, for Consume
}

// ParseEvidence is the first check: the evidence is well formed. The front
// end calls it first to learn the device ID, for rate limiting.
func ParseEvidence(b []byte) (*evidence.Evidence, error) {
	e, err := evidence.Parse(b)
	if err != nil {
		return nil, &Refusal{Code: CodeEvidenceInvalid, Message: err.Error()}
	}
	return e, nil
}

// Verify runs the checks that change nothing: 1 to 3, which it reports at
// once, and 5 to 8, whose first failure it keeps in Result.Refusal. The
// caller then spends the nonce with Consume, in the transaction that issues
// the certificate, so that an accepted attestation costs one write and the
// refusals come in the documented order. An error that is not a *Refusal
// is the service's own failure.
func (v *Verifier) Verify(ctx context.Context, e *evidence.Evidence, csr []byte) (Result,
	error) {
	id := e.DeviceID()
	tenant, remembered := v.claims.tenant(id.String())
	if !remembered {
		var err error
		if tenant, err = v.device(ctx, id); err != nil {
			return Result{}, err
		}
	}
	if err := e.Verify(); err != nil {
		if remembered {
			// Check 2 comes before this one.
			if _, err := v.device(ctx, id); err != nil {
				return Result{}, err
			}
		}
		return Result{}, refuse(CodeSignatureInvalid,
			"the evidence is not signed by the device's identity key")
	}

	claims := e.Claims()
	stored, err := v.nonces.Stored(claims.Nonce)
	if err != nil {
		return Result{}, refuse(CodeNonceUnknown, "the nonce was not issued by this service")
	}
	res := Result{TenantID: tenant, DeviceID: id, Evidence: e, nonce: stored}
	cat, err := v.catalogue.Current(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("verifier: catalogue: %w", err)
	}
	boot := make([]catalogue.Measurement, len(claims.Components))
	for i, c := range claims.Components {
		boot[i] = catalogue.Measurement{Name: c.Name, Version: c.Version, Digest: c.Digest,
			SVN: c.SVN}
	}
	res.Appraisal = cat.Appraise(boot)
	if res.Appraisal.Verdict == attestation.Contraindicated {
		res.Refusal = softwareRefusal(res.Appraisal)
		return res, nil
	}
	if tenant == "" {
		res.Refusal = refuse(CodeDeviceUnclaimed, "the device is not claimed by a tenant")
		return res, nil
	}
	req, ref := parseCSR(csr)
	if ref != nil {
		res.Refusal = ref
		return res, nil
	}
	binding, err := evidence.KeyBindingOf(req.PublicKey)
	if err != nil || binding != claims.KeyBinding {
		res.Refusal = refuse(CodeCSRKeyMismatch,
			"the certificate request's key is not the one the evidence binds")
		return res, nil
	}
	res.CSR = req
	return res, nil
}

// device makes checks 1 and 2 on the store's record of the device and
// returns the tenant that claimed it, remembering the claim.
func (v *Verifier) device(ctx context.Context, id deviceid.ID) (string, error) {
	dev, err := v.store.GetDevice(ctx, id.String())
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", refuse(CodeUnknownDevice, "the device is not registered")
	case err != nil:
		return "", fmt.Errorf("verifier: get device %s: %w", id, err)
	case dev.Blocked:
		return "", refuse(CodeDeviceBlocked, "the device is blocked")
	}
	if dev.TenantID != "" {
		v.claims.remember(dev.ID, dev.TenantID)
	}
	return dev.TenantID, nil
}

// Recorder is where Consume writes: a store.Store, or the store.Queries of
// a transaction.
type Recorder interface {
	RecordAttestation(ctx context.Context, a store.Attestation) (store.Nonce, error)
}

// Consume is check 4, with check 2 again. Through w it spends the
// evidence's nonce and, in the same write, records cert and iss, the
// certificate of an accepted attestation and its issuance (nil when
// res.Refusal is set: they are not written then). It returns the refusal
// of a device blocked since Verify, or the nonce's, with nothing written; or,
// with the nonce spent and nothing else written, res.Refusal or the refusal
// of a device that left its tenant since Verify; or nil when the
// certificate is recorded.
func (v *Verifier) Consume(ctx context.Context, w Recorder, res Result, cert *store.Cert,
	iss *store.Issuance) (*Refusal, error) {
	id := res.DeviceID.String()
	a := store.Attestation{Nonce: res.nonce, DeviceID: id, At: v.now()}
	if res.Refusal == nil {
		if cert == nil || iss == nil {
			return nil, fmt.Errorf("verifier: record attestation of %s: no certificate", id)
		}
		a.Cert, a.Issuance = cert, iss
	}
	n, err := w.RecordAttestation(ctx, a)
	switch {
	case err == nil:
		return res.Refusal, nil
	case errors.Is(err, store.ErrBlocked):
		return refuse(CodeDeviceBlocked, "the device is blocked"), nil
	case errors.Is(err, store.ErrUnclaimed):
		return refuse(CodeDeviceUnclaimed, "the device is not claimed by a tenant"), nil
	case errors.Is(err, store.ErrNotFound):
		return refuse(CodeNonceUnknown, "the nonce was not issued by this service"), nil
	case !errors.Is(err, store.ErrConflict) || n.DeviceID == "":
		// A conflict without the nonce is the certificate's (its serial).
		return nil, fmt.Errorf("verifier: record attestation: %w", err)
	case n.DeviceID != id:
		return refuse(CodeNonceOtherDevice, "the nonce was issued to another device"), nil
	case !n.ConsumedAt.IsZero():
		return refuse(CodeNonceReused, "the nonce has been used"), nil
	default:
		return refuse(CodeNonceExpired, "the nonce has expired; ask for a new challenge"), nil
	}
}

// softwareRefusal names the first contraindicated component.
func softwareRefusal(a catalogue.Appraisal) *Refusal {
	r := &Refusal{Code: CodeSoftwareUnknown, Message: "the measured boot is not trusted",
		Appraisal: &a}
	for _, o := range a.Outcomes {
		if o.Verdict != attestation.Contraindicated {
			continue
		}
		code, what := softwareCode(o.Reason)
		r.Code = code
		r.Message = fmt.Sprintf("component %q %s", o.Name, what)
		if o.Version != "" {
			r.Message = fmt.Sprintf("component %q version %q %s", o.Name, o.Version, what)
		}
		break
	}
	return r
}

func softwareCode(reason string) (string, string) {
	switch reason {
	case catalogue.ReasonRevoked:
		return CodeSoftwareRevoked, "has a revoked digest"
	case catalogue.ReasonBelowMinimum:
		return CodeSoftwareBelowMinSVN, "is below the minimum security version"
	case catalogue.ReasonMismatch:
		return CodeSoftwareMismatch, "does not match the catalogue's version for its digest"
	case catalogue.ReasonUnknownComponent:
		return CodeSoftwareComponent, "is not in the catalogue"
	case catalogue.ReasonDuplicate:
		return CodeSoftwareDuplicate, "is measured twice"
	case catalogue.ReasonMissing:
		return CodeSoftwareMissing, "was not measured"
	default:
		return CodeSoftwareUnknown, "has a digest the catalogue does not trust"
	}
}

func parseCSR(der []byte) (*x509.CertificateRequest, *Refusal) {
	if len(der) == 0 || len(der) > MaxCSRSize {
		return nil, refuse(CodeCSRInvalid, fmt.Sprintf(
			"the certificate request must be 1 to %d bytes of DER", MaxCSRSize))
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, refuse(CodeCSRInvalid, "the certificate request is not valid PKCS#10 DER")
	}
	if k, ok := req.PublicKey.(*ecdsa.PublicKey); !ok ||
		k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
		return nil, refuse(CodeCSRInvalid, "the certificate request's key must be "+
			"ECDSA P-256 or P-384")
	}
	if err := req.CheckSignature(); err != nil {
		return nil, refuse(CodeCSRSignature, "the certificate request's signature is invalid")
	}
	return req, nil
}
