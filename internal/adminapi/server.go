// Package adminapi serves Hallmark's admin API: HTTPS, JSON, bearer tokens.
//
// The operator creates tenants and tokens, blocks devices and reads the audit
// log; manufacturers register device IDs in batches; tenant admins claim
// devices, list them, download their CA certificates and chain, and ask for
// proof-of-possession certificates. Every request body is bounded, unknown
// fields are refused, and every error answers with a stable code:
//
//	{"error": {"code": "device_claimed", "message": "...", "hint": "..."}}
//
// A tenant's resources are invisible to every other tenant: they answer 404,
// exactly as if they did not exist. Every change attempted by an
// authenticated caller leaves one entry in the audit log. The package also
// publishes CRLs and CA certificates, without authentication, under /pki/.
package adminapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/authority"
	"github.com/hallmark-project/hallmark/internal/catalogue"
	"github.com/hallmark-project/hallmark/internal/registry"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/tenant"
	"github.com/hallmark-project/hallmark/internal/token"
)

// Config holds what the API serves.
type Config struct {
	Store     store.Store
	Authority *authority.Authority
	Tenants   *tenant.Service
	Tokens    *token.Service
	Registry  *registry.Service
	Catalogue *catalogue.Source
	Logger    *slog.Logger
	// Metrics, if not nil, receives the API's request metrics.
	Metrics prometheus.Registerer
}

// Server is the admin API.
type Server struct {
	store    store.Store
	ca       *authority.Authority
	tenants  *tenant.Service
	tokens   *token.Service
	registry *registry.Service
	cat      *catalogue.Source
	log      *slog.Logger
	mux      *http.ServeMux

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// New returns the API server.
func New(cfg Config) (*Server, error) {
	s := &Server{
		store:    cfg.Store,
		ca:       cfg.Authority,
		tenants:  cfg.Tenants,
		tokens:   cfg.Tokens,
		registry: cfg.Registry,
		cat:      cfg.Catalogue,
		log:      cfg.Logger,
		mux:      http.NewServeMux(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hallmark_admin_requests_total",
			Help: "Admin API requests by route and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "hallmark_admin_request_duration_seconds",
			Help:    "Admin API request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics != nil {
		for _, c := range []prometheus.Collector{s.requests, s.latency} {
			if err := cfg.Metrics.Register(c); err != nil {
				return nil, fmt.Errorf("adminapi: register metrics: %w", err)
			}
		}
	}
	s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	info := &requestInfo{id: newRequestID()}
	rw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	rw.Header().Set("X-Request-Id", info.id)
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))

	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in handler", "request_id", info.id, "panic", fmt.Sprint(p))
			if !rw.wrote {
				writeJSON(rw, http.StatusInternalServerError, errorBody{errInternal(nil)})
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		s.requests.WithLabelValues(route, fmt.Sprint(rw.status)).Inc()
		s.latency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		s.log.LogAttrs(r.Context(), levelFor(rw.status), "request",
			slog.String("request_id", info.id), slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.Int("status", rw.status),
			slog.Duration("duration", time.Since(start)), slog.String("token", info.tokenID),
			slog.String("tenant", info.tenantID))
	}()
	s.mux.ServeHTTP(rw, r)
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// requestInfo collects what the request log line reports.
type requestInfo struct {
	id       string
	tokenID  string
	tenantID string
}

type infoKey struct{}

func info(r *http.Request) *requestInfo {
	if i, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return hex.EncodeToString(b)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// handlerFunc is an API handler: it writes a response and returns nil, or
// returns the error to send.
type handlerFunc func(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError

// Roles allowed on routes.
var (
	operator     = []store.Role{store.RoleOperator}
	manufacturer = []store.Role{store.RoleOperator, store.RoleManufacturer}
	tenantRead   = []store.Role{store.RoleOperator, store.RoleTenantAdmin, store.RoleTenantReader}
	tenantAdmin  = []store.Role{store.RoleTenantAdmin}
	tokenAdmin   = []store.Role{store.RoleOperator, store.RoleTenantAdmin}
	anyRole      = []store.Role{store.RoleOperator, store.RoleManufacturer,
		store.RoleTenantAdmin, store.RoleTenantReader}
)

// handle registers an authenticated route. action names the change for the
// audit log; "" for a read.
func (s *Server) handle(pattern, action string, roles []store.Role, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		a, apiErr := s.authenticate(r)
		if apiErr != nil {
			s.fail(w, r, apiErr) // unauthenticated: not the audit log's business
			return
		}
		r = r.WithContext(audit.NewContext(r.Context(), a))
		if t := r.PathValue("tenant"); t != "" && a.TenantID != "" && t != a.TenantID {
			// Another tenant's resources do not exist for this caller,
			// whatever its role would allow.
			apiErr = errTenantNotFound
		} else if !slices.Contains(roles, a.Role) {
			apiErr = errForbidden(fmt.Sprintf("a %s token may not do this", a.Role))
		} else {
			apiErr = h(w, r, a)
		}
		if apiErr != nil {
			if action != "" {
				s.recordFailure(r, action, apiErr)
			}
			s.fail(w, r, apiErr)
		}
	})
}

func (s *Server) recordFailure(r *http.Request, action string, e *apiError) {
	err := audit.RecordFailure(r.Context(), s.store, s.ca.Now(), action, r.URL.Path, e.Code)
	if err != nil {
		s.log.Error("record failed change in audit log", "request_id", info(r).id,
			"action", action, "err", err)
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, e *apiError) {
	if e.cause != nil {
		s.log.Error("request failed", "request_id", info(r).id, "path", r.URL.Path,
			"err", e.cause)
	}
	writeJSON(w, e.status, errorBody{e})
}

// tenantScope returns the tenant named in the path if the caller may see it:
// the operator sees every tenant, a tenant token only its own. Any other
// tenant is not found, never forbidden, so IDs leak nothing.
func (s *Server) tenantScope(r *http.Request, a audit.Actor) (store.Tenant, *apiError) {
	id := r.PathValue("tenant")
	if a.Role != store.RoleOperator && id != a.TenantID {
		return store.Tenant{}, errTenantNotFound
	}
	t, err := s.tenants.Get(r.Context(), id)
	if errors.Is(err, tenant.ErrNotFound) {
		return store.Tenant{}, errTenantNotFound
	}
	if err != nil {
		return store.Tenant{}, errInternal(err)
	}
	info(r).tenantID = t.ID
	return t, nil
}

func (s *Server) routes() {
	s.handle("GET /api/v1/whoami", "", anyRole, s.whoami)

	s.handle("POST /api/v1/tenants", "tenant.create", operator, s.createTenant)
	s.handle("GET /api/v1/tenants", "", operator, s.listTenants)
	s.handle("GET /api/v1/tenants/{tenant}", "", tenantRead, s.getTenant)

	s.handle("POST /api/v1/tokens", "token.create", tokenAdmin, s.createToken)
	s.handle("GET /api/v1/tokens", "", tokenAdmin, s.listTokens)
	s.handle("DELETE /api/v1/tokens/{token}", "token.revoke", tokenAdmin, s.revokeToken)

	s.handle("POST /api/v1/devices", "device.register", manufacturer, s.registerDevices)
	s.handle("GET /api/v1/devices", "", operator, s.listAllDevices)
	s.handle("GET /api/v1/devices/{device}", "", operator, s.getAnyDevice)
	s.handle("POST /api/v1/devices/{device}/block", "device.block", operator, s.blockDevice)
	s.handle("POST /api/v1/devices/{device}/unblock", "device.unblock", operator,
		s.unblockDevice)

	s.handle("GET /api/v1/tenants/{tenant}/devices", "", tenantRead, s.listDevices)
	s.handle("GET /api/v1/tenants/{tenant}/devices/{device}", "", tenantRead, s.getDevice)
	s.handle("POST /api/v1/tenants/{tenant}/devices/{device}/claim", "device.claim",
		tenantAdmin, s.claimDevice)

	s.handle("GET /api/v1/tenants/{tenant}/certificates", "", tenantRead, s.listCAs)
	s.handle("GET /api/v1/tenants/{tenant}/certificates/{thumbprint}", "", tenantRead,
		s.downloadCA)
	s.handle("GET /api/v1/tenants/{tenant}/certificates/{thumbprint}/chain", "", tenantRead,
		s.downloadChain)
	s.handle("POST /api/v1/tenants/{tenant}/certificates/{thumbprint}/proof", "ca.proof",
		tenantAdmin, s.proof)

	s.handle("GET /api/v1/tenants/{tenant}/issuances", "", tenantRead, s.listIssuances)

	s.handle("PUT /api/v1/catalogue", "catalogue.publish", operator, s.publishCatalogue)
	s.handle("GET /api/v1/catalogue", "", operator, s.getCatalogue)

	s.handle("GET /api/v1/audit", "", operator, s.listAudit)

	s.mux.HandleFunc("GET /pki/crl/{file}", s.publishCRL)
	s.mux.HandleFunc("GET /pki/ca/{file}", s.publishCA)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, newError(http.StatusNotFound, "not_found", "no such endpoint").
			withHint("the API lives under /api/v1/"))
	})
}
