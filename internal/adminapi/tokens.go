package adminapi

import (
	"errors"
	"net/http"
	"time"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/tenant"
	"github.com/hallmark-project/hallmark/internal/token"
)

type tokenJSON struct {
	ID        string     `json:"id"`
	Secret    string     `json:"secret,omitempty"` // only in the answer that creates it
	Role      string     `json:"role"`
	TenantID  string     `json:"tenant_id,omitempty"`
	Name      string     `json:"name,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func toTokenJSON(t store.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Role: string(t.Role), TenantID: t.TenantID, Name: t.Name,
		CreatedAt: t.CreatedAt, ExpiresAt: optTime(t.ExpiresAt), RevokedAt: optTime(t.RevokedAt)}
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type createTokenRequest struct {
	Role      string `json:"role"`
	TenantID  string `json:"tenant_id"`
	Name      string `json:"name"`
	ExpiresIn string `json:"expires_in"` // a Go duration such as "720h"; "" never
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	var req createTokenRequest
	if e := decode(w, r, &req); e != nil {
		return e
	}
	role, err := token.ParseRole(req.Role)
	if err != nil {
		return newError(http.StatusBadRequest, "invalid_role", err.Error())
	}
	var ttl time.Duration
	if req.ExpiresIn != "" {
		ttl, err = time.ParseDuration(req.ExpiresIn)
		if err != nil || ttl <= 0 {
			return newError(http.StatusBadRequest, "invalid_expiry",
				"expires_in must be a positive duration such as \"720h\"")
		}
	}
	if len(req.Name) > 128 {
		return newError(http.StatusBadRequest, "invalid_token_name",
			"the token name may have at most 128 bytes")
	}

	if a.Role == store.RoleTenantAdmin {
		if !token.IsTenantRole(role) {
			return errForbidden("a tenant admin may create only tenant tokens")
		}
		if req.TenantID == "" {
			req.TenantID = a.TenantID
		}
		if req.TenantID != a.TenantID {
			return errTenantNotFound
		}
	}
	if token.IsTenantRole(role) {
		if req.TenantID == "" {
			return newError(http.StatusBadRequest, "invalid_tenant",
				"a "+string(role)+" token needs a tenant_id")
		}
		if _, err := s.tenants.Get(r.Context(), req.TenantID); errors.Is(err, tenant.ErrNotFound) {
			return errTenantNotFound
		} else if err != nil {
			return errInternal(err)
		}
	} else if req.TenantID != "" {
		return newError(http.StatusBadRequest, "invalid_tenant",
			"only tenant roles take a tenant_id")
	}

	secret, t, err := s.tokens.Create(r.Context(), role, req.TenantID, req.Name, ttl)
	if err != nil {
		return errInternal(err)
	}
	out := toTokenJSON(t)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	tenantID := r.URL.Query().Get("tenant_id")
	if a.Role == store.RoleTenantAdmin {
		tenantID = a.TenantID
	}
	ts, err := s.tokens.List(r.Context(), tenantID)
	if err != nil {
		return errInternal(err)
	}
	out := make([]tokenJSON, len(ts))
	for i, t := range ts {
		out[i] = toTokenJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	scope := ""
	if a.Role == store.RoleTenantAdmin {
		scope = a.TenantID
	}
	t, err := s.tokens.Revoke(r.Context(), r.PathValue("token"), scope)
	if errors.Is(err, token.ErrNotFound) {
		return errTokenNotFound
	}
	if err != nil {
		return errInternal(err)
	}
	writeJSON(w, http.StatusOK, toTokenJSON(t))
	return nil
}
