// Package daa is the front end of the device authentication and attestation
// service: the HTTPS endpoints that devices talk to.
//
// A device asks for a challenge, then attests (package daa/wire has the
// messages). The front end issues single-use nonces, limits each device's
// request rate, hands the evidence to the verifier (package verifier) and an
// accepted result to the CA engine (package caengine), and answers with the
// certificate and its chain, or with the code of the check that failed. It
// tells the device which check failed and never more: causes go to the log.
package daa

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/caengine"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/verifier"
)

// Protocol limits.
const (
	NonceLifetime = 60 * time.Second
	// maxBody bounds a request: evidence (64 KiB) and a CSR, base64 encoded.
	maxBody = 128 << 10
)

// Config configures the front end.
type Config struct {
	Store    store.Store
	Verifier *verifier.Verifier
	Engine   *caengine.Engine
	Logger   *slog.Logger
	Metrics  prometheus.Registerer // may be nil
	Now      func() time.Time
	// RatePerMinute and Burst limit each device's requests (a challenge
	// and an attestation are two); RatePerMinute 0 disables the limit.
	RatePerMinute float64
	Burst         int
}

// Server is the DAA front end.
type Server struct {
	store    store.Store
	verifier *verifier.Verifier
	engine   *caengine.Engine
	log      *slog.Logger
	now      func() time.Time
	limit    *limiter
	mux      *http.ServeMux

	attestations *prometheus.CounterVec
	latency      prometheus.Histogram
}

// New returns the front end.
func New(cfg Config) (*Server, error) {
	s := &Server{store: cfg.Store, verifier: cfg.Verifier, engine: cfg.Engine,
		log: cfg.Logger, now: cfg.Now, mux: http.NewServeMux(),
		attestations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_attestations_total",
			Help: "Attestations by result: issued, or the code of the refusal.",
		}, []string{"result"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hallmark_issuance_duration_seconds",
			Help:    "Time to verify an attestation and issue its certificate.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = 1
	}
	s.limit = newLimiter(cfg.RatePerMinute, burst, s.now)
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{s.attestations, s.latency} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("daa: register metrics: %w", err)
			}
		}
	}
	s.mux.HandleFunc("POST "+wire.ChallengesPath, s.challenge)
	s.mux.HandleFunc("POST "+wire.AttestationsPath, s.attest)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "not_found", "no such endpoint", "")
	})
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

func (s *Server) challenge(w http.ResponseWriter, r *http.Request) {
	var req wire.ChallengeRequest
	if !s.decode(w, r, &req) {
		return
	}
	id, err := deviceid.Parse(req.DeviceID)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "invalid_device_id", err.Error(), "")
		return
	}
	if !s.allow(w, r, id.String()) {
		return
	}
	now := s.now()
	nonce, stored, err := s.verifier.MakeNonce(now)
	if err != nil {
		s.internal(w, r, "make nonce", err, id.String())
		return
	}
	n := store.Nonce{Value: stored, DeviceID: id.String(), CreatedAt: now,
		ExpiresAt: now.Add(NonceLifetime)}
	// PutNonce checks that the device is registered and not blocked; only
	// when it refuses is the device read, to tell which.
	err = s.store.PutNonce(r.Context(), n)
	if errors.Is(err, store.ErrNotFound) {
		var dev store.Device
		dev, err = s.store.GetDevice(r.Context(), id.String())
		switch {
		case errors.Is(err, store.ErrNotFound):
			s.fail(w, r, http.StatusNotFound, verifier.CodeUnknownDevice,
				"the device is not registered", id.String())
			return
		case err == nil && dev.Blocked:
			s.fail(w, r, http.StatusForbidden, verifier.CodeDeviceBlocked,
				"the device is blocked", id.String())
			return
		case err == nil:
			// Unblocked, or registered, since PutNonce looked.
			err = s.store.PutNonce(r.Context(), n)
		}
	}
	if err != nil {
		s.internal(w, r, "record nonce", err, id.String())
		return
	}
	writeJSON(w, http.StatusCreated, wire.ChallengeResponse{Nonce: nonce,
		ExpiresAt: n.ExpiresAt})
}

func (s *Server) attest(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req wire.AttestationRequest
	if !s.decode(w, r, &req) {
		return
	}
	ev, err := verifier.ParseEvidence(req.Evidence)
	if err != nil {
		s.refused(w, r, err, "")
		return
	}
	device := ev.DeviceID().String()
	if !s.allow(w, r, device) {
		return
	}
	res, err := s.verifier.Verify(r.Context(), ev, req.CSR)
	if err != nil {
		s.refused(w, r, err, device)
		return
	}
	var issued caengine.Issued
	var cert *store.Cert
	var issuance *store.Issuance
	if res.Refusal == nil {
		issued, err = s.engine.Sign(r.Context(), caengine.Request{
			TenantID: res.TenantID, DeviceID: res.DeviceID,
			PublicKey: res.CSR.PublicKey, Appraisal: res.Appraisal,
			EvidenceDigest: ev.Digest()})
		if err != nil {
			s.internal(w, r, "sign certificate", err, device)
			return
		}
		cert, issuance = issued.Records()
	}
	// One write spends the nonce and records the certificate; a nonce
	// refusal writes nothing, a later refusal the spent nonce alone.
	refusal, err := s.verifier.Consume(r.Context(), s.store, res, cert, issuance)
	if err != nil {
		s.internal(w, r, "record certificate", err, device)
		return
	}
	if refusal != nil {
		s.refused(w, r, refusal, device)
		return
	}
	s.attestations.WithLabelValues("issued").Inc()
	s.latency.Observe(time.Since(start).Seconds())
	serial := hex.EncodeToString(issued.Serial.Bytes())
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "certificate issued",
		slog.String("device", device), slog.String("tenant", res.TenantID),
		slog.String("serial", serial), slog.String("verdict", res.Appraisal.Verdict.String()),
		slog.Duration("duration", time.Since(start)))
	writeJSON(w, http.StatusCreated, wire.AttestationResponse{
		Certificate: string(pki.EncodePEM(issued.Certificate)),
		Chain:       issued.ChainPEM,
		Serial:      serial, NotBefore: issued.NotBefore, NotAfter: issued.NotAfter,
		RenewAt: issued.RenewAt, Verdict: res.Appraisal.Verdict.String()})
}

// allow applies the device's rate limit, answering 429 when it is spent.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, device string) bool {
	ok, wait := s.limit.allow(device)
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	s.fail(w, r, http.StatusTooManyRequests, "rate_limited",
		"too many requests from this device; retry later", device)
	return false
}

// refused answers a verifier refusal, or an internal error.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, err error, device string) {
	var ref *verifier.Refusal
	if !errors.As(err, &ref) {
		s.internal(w, r, "verify attestation", err, device)
		return
	}
	s.attestations.WithLabelValues(ref.Code).Inc()
	body := wire.ErrorResponse{Error: wire.ErrorBody{Code: ref.Code, Message: ref.Message}}
	if ref.Appraisal != nil {
		for _, o := range ref.Appraisal.Outcomes {
			body.Error.Components = append(body.Error.Components, wire.ComponentOutcome{
				Name: o.Name, Version: o.Version, Verdict: o.Verdict.String(),
				Reason: o.Reason})
		}
	}
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "attestation refused",
		slog.String("device", device), slog.String("code", ref.Code))
	writeJSON(w, statusOf(ref.Code), body)
}

// statusOf maps a refusal to its HTTP status: the request's own faults are
// 400, a device the registry does not know 404, policy refusals 403.
func statusOf(code string) int {
	switch code {
	case verifier.CodeEvidenceInvalid, verifier.CodeCSRInvalid, verifier.CodeCSRSignature,
		verifier.CodeCSRKeyMismatch, verifier.CodeNonceUnknown, verifier.CodeNonceReused,
		verifier.CodeNonceExpired, verifier.CodeNonceOtherDevice:
		return http.StatusBadRequest
	case verifier.CodeUnknownDevice:
		return http.StatusNotFound
	default:
		return http.StatusForbidden
	}
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, op string, err error,
	device string) {
	s.attestations.WithLabelValues("internal_error").Inc()
	s.log.Error("daa: "+op, "device", device, "err", err)
	status, code := http.StatusInternalServerError, "internal"
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		status, code = http.StatusServiceUnavailable, "unavailable"
	}
	writeJSON(w, status, wire.ErrorResponse{Error: wire.ErrorBody{Code: code,
		Message: "the service failed to handle the request; try again later"}})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, code, msg,
	device string) {
	if device != "" {
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "daa request refused",
			slog.String("device", device), slog.String("code", code))
	}
	writeJSON(w, status, wire.ErrorResponse{Error: wire.ErrorBody{Code: code, Message: msg}})
}

// decode reads a JSON body into v, answering the error itself if it cannot.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			s.fail(w, r, http.StatusUnsupportedMediaType, "unsupported_media_type",
				"the body must be application/json", "")
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, err2 := dec.Token(); !errors.Is(err2, io.EOF) {
			err = errors.New("trailing data after the JSON object")
		}
	}
	var maxErr *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &maxErr):
		s.fail(w, r, http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the body is larger than %d bytes", maxErr.Limit), "")
	default:
		s.fail(w, r, http.StatusBadRequest, "invalid_request",
			"the body must be one JSON object with the documented fields", "")
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the device has gone if this fails
}
