package adminapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/hallmark-project/hallmark/internal/store"
)

// publishCRL serves a CA's CRL at /pki/crl/{id}.crl, without authentication:
// relying parties fetch it from the CRL distribution point of certificates.
func (s *Server) publishCRL(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".crl")
	if !ok || !validCAID(id) {
		s.fail(w, r, newError(http.StatusNotFound, "crl_not_found", "no such CRL"))
		return
	}
	der, err := s.ca.CRL(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, newError(http.StatusNotFound, "crl_not_found", "no such CRL"))
		return
	}
	if err != nil {
		s.fail(w, r, errInternal(err))
		return
	}
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Header().Set("Cache-Control", "max-age=300")
	_, _ = w.Write(der)
}

// publishCA serves a CA certificate at /pki/ca/{id}.crt (DER), the issuer
// URL of certificates it signed.
func (s *Server) publishCA(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".crt")
	if !ok || !validCAID(id) {
		s.fail(w, r, newError(http.StatusNotFound, "ca_not_found", "no such CA"))
		return
	}
	ca, err := s.store.GetCA(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, newError(http.StatusNotFound, "ca_not_found", "no such CA"))
		return
	}
	if err != nil {
		s.fail(w, r, errInternal(err))
		return
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Cache-Control", "max-age=3600")
	_, _ = w.Write(ca.CertDER)
}

// validCAID reports whether id has the form of a CA ID: 32 lowercase hex.
func validCAID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range []byte(id) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
