package adminapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/authority"
	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
)

type caJSON struct {
	Thumbprint string    `json:"thumbprint"`
	Generation int       `json:"generation"`
	State      string    `json:"state"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	ActiveFrom time.Time `json:"active_from"`
	// Certificate is the PEM certificate.
	Certificate string `json:"certificate"`
}

func (s *Server) listCAs(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	t, e := s.tenantScope(r, a)
	if e != nil {
		return e
	}
	cas, err := s.ca.TenantCAs(r.Context(), t.ID)
	if err != nil {
		return errInternal(err)
	}
	out := make([]caJSON, len(cas))
	for i, ca := range cas {
		out[i] = caJSON{Thumbprint: ca.Thumbprint, Generation: ca.Generation,
			State: string(ca.State), NotBefore: ca.NotBefore, NotAfter: ca.NotAfter,
			ActiveFrom: ca.ActiveFrom, Certificate: string(pki.EncodePEM(ca.CertDER))}
	}
	writeJSON(w, http.StatusOK, map[string]any{"certificates": out})
	return nil
}

// findCA resolves the {thumbprint} of a tenant path; "active" names the CA
// that signs now.
func (s *Server) findCA(r *http.Request, a audit.Actor) (authority.TenantCA, *apiError) {
	t, e := s.tenantScope(r, a)
	if e != nil {
		return authority.TenantCA{}, e
	}
	ca, err := s.ca.FindTenantCA(r.Context(), t.ID, strings.ToLower(r.PathValue("thumbprint")))
	switch {
	case errors.Is(err, authority.ErrCANotFound):
		return authority.TenantCA{}, errCANotFound.withHint(
			"list the tenant's certificates for their thumbprints, or use \"active\"")
	case errors.Is(err, authority.ErrNoActiveCA):
		return authority.TenantCA{}, newError(http.StatusConflict, "no_active_ca",
			"the tenant has no active CA")
	case err != nil:
		return authority.TenantCA{}, errInternal(err)
	}
	return ca, nil
}

// format reads the "format" query parameter, one of allowed; the first is the
// default.
func format(r *http.Request, allowed ...string) (string, *apiError) {
	f := r.URL.Query().Get("format")
	if f == "" {
		return allowed[0], nil
	}
	for _, a := range allowed {
		if f == a {
			return f, nil
		}
	}
	return "", newError(http.StatusBadRequest, "invalid_format",
		"format must be one of "+strings.Join(allowed, ", "))
}

func writeCert(w http.ResponseWriter, format, name string, ders ...[]byte) *apiError {
	var body []byte
	switch format {
	case "pem":
		w.Header().Set("Content-Type", "application/x-pem-file")
		body = pki.EncodePEM(ders...)
		name += ".pem"
	case "der":
		w.Header().Set("Content-Type", "application/pkix-cert")
		body = ders[0]
		name += ".cer"
	case "pkcs7":
		p7, err := pki.EncodePKCS7(ders...)
		if err != nil {
			return errInternal(err)
		}
		w.Header().Set("Content-Type", "application/pkcs7-mime")
		body = p7
		name += ".p7b"
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return nil
}

func (s *Server) downloadCA(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	f, e := format(r, "pem", "der")
	if e != nil {
		return e
	}
	ca, e := s.findCA(r, a)
	if e != nil {
		return e
	}
	return writeCert(w, f, "tenant-ca-"+ca.Thumbprint[:16], ca.CertDER)
}

func (s *Server) downloadChain(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	f, e := format(r, "pem", "pkcs7")
	if e != nil {
		return e
	}
	ca, e := s.findCA(r, a)
	if e != nil {
		return e
	}
	chain, err := s.ca.Chain(r.Context(), ca.CA)
	if err != nil {
		return errInternal(err)
	}
	return writeCert(w, f, "tenant-chain-"+ca.Thumbprint[:16], chain...)
}

type proofRequest struct {
	VerificationCode string `json:"verification_code"`
	// Lifetime is a Go duration of at most one hour; "" for one hour.
	Lifetime string `json:"lifetime"`
}

func (s *Server) proof(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	f, e := format(r, "pem", "der")
	if e != nil {
		return e
	}
	var req proofRequest
	if e := decode(w, r, &req); e != nil {
		return e
	}
	if err := pki.ValidateVerificationCode(req.VerificationCode); err != nil {
		return newError(http.StatusBadRequest, "invalid_verification_code", err.Error())
	}
	var lifetime time.Duration
	if req.Lifetime != "" {
		d, err := time.ParseDuration(req.Lifetime)
		if err != nil || d <= 0 || d > pki.MaxProofLifetime {
			return newError(http.StatusBadRequest, "invalid_lifetime",
				"lifetime must be a positive duration of at most 1h")
		}
		lifetime = d
	}
	ca, e := s.findCA(r, a)
	if e != nil {
		return e
	}
	if ca.State == authority.StateExpired || ca.State == authority.StateRevoked {
		return newError(http.StatusConflict, "ca_not_usable",
			"the CA is "+string(ca.State)+" and signs nothing")
	}
	var der []byte
	err := s.store.Tx(r.Context(), func(q store.Queries) error {
		var err error
		der, err = s.ca.IssueProof(r.Context(), q, ca, req.VerificationCode, lifetime)
		if err != nil {
			return err
		}
		return audit.Record(r.Context(), q, s.ca.Now(), "ca.proof", ca.Thumbprint,
			map[string]string{"verification_code": req.VerificationCode})
	})
	if err != nil {
		return errInternal(err)
	}
	return writeCert(w, f, "proof-"+req.VerificationCode, der)
}
