package adminapi

import (
	"errors"
	"net/http"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/token"
)

const tokenHint = "pass a token as 'Authorization: Bearer hm_...'; the CLI reads HALLMARK_TOKEN"

// authenticate checks the bearer token of the request.
func (s *Server) authenticate(r *http.Request) (audit.Actor, *apiError) {
	t, err := s.tokens.Authenticate(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		return audit.Actor{}, authError(err)
	}
	i := info(r)
	i.tokenID, i.tenantID = t.ID, t.TenantID
	return audit.Actor{TokenID: t.ID, Role: t.Role, TenantID: t.TenantID, RequestID: i.id}, nil
}

func authError(err error) *apiError {
	unauthorized := func(code, msg string) *apiError {
		return newError(http.StatusUnauthorized, code, msg)
	}
	switch {
	case errors.Is(err, token.ErrMissing):
		return unauthorized("token_missing", "the request has no bearer token").
			withHint(tokenHint)
	case errors.Is(err, token.ErrMalformed):
		return unauthorized("token_malformed", "the bearer token is malformed").
			withHint(tokenHint)
	case errors.Is(err, token.ErrExpired):
		return unauthorized("token_expired", "the token has expired").
			withHint("ask for a new token")
	case errors.Is(err, token.ErrRevoked):
		return unauthorized("token_revoked", "the token has been revoked").
			withHint("ask for a new token")
	case errors.Is(err, token.ErrUnknown):
		return unauthorized("token_invalid", "the token is not valid")
	default:
		return errInternal(err)
	}
}

type whoamiResponse struct {
	TokenID  string `json:"token_id"`
	Role     string `json:"role"`
	TenantID string `json:"tenant_id,omitempty"`
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	writeJSON(w, http.StatusOK, whoamiResponse{a.TokenID, string(a.Role), a.TenantID})
	return nil
}
