package adminapi

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/tenant"
)

type tenantJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func toTenantJSON(t store.Tenant) tenantJSON {
	return tenantJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}
}

type createTenantRequest struct {
	Name string `json:"name"`
}

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request, _ audit.Actor) *apiError {
	var req createTenantRequest
	if e := decode(w, r, &req); e != nil {
		return e
	}
	t, err := s.tenants.Create(r.Context(), req.Name)
	switch {
	case errors.Is(err, tenant.ErrInvalidName):
		return newError(http.StatusBadRequest, "invalid_tenant_name", err.Error())
	case errors.Is(err, tenant.ErrNameTaken):
		return newError(http.StatusConflict, "tenant_name_taken",
			fmt.Sprintf("a tenant named %q exists", req.Name))
	case err != nil:
		return errInternal(err)
	}
	info(r).tenantID = t.ID
	writeJSON(w, http.StatusCreated, toTenantJSON(t))
	return nil
}

func (s *Server) listTenants(w http.ResponseWriter, r *http.Request, _ audit.Actor) *apiError {
	ts, err := s.tenants.List(r.Context())
	if err != nil {
		return errInternal(err)
	}
	out := make([]tenantJSON, len(ts))
	for i, t := range ts {
		out[i] = toTenantJSON(t)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
	return nil
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	t, e := s.tenantScope(r, a)
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, toTenantJSON(t))
	return nil
}
