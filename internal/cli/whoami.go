package cli

import (
	"context"
	"io"
)

// whoamiJSON is the answer of GET /api/v1/whoami.
type whoamiJSON struct {
	TokenID  string `json:"token_id"`
	Role     string `json:"role"`
	TenantID string `json:"tenant_id"`
}

func runWhoami(ctx context.Context, s *session) error {
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	w, raw, err := s.whoami(ctx)
	if err != nil {
		return err
	}
	return s.show(raw, func(out io.Writer) error {
		return fields(out, "token", w.TokenID, "role", w.Role, "tenant", w.TenantID)
	})
}
