package token

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/store"
)

// Errors of Service.Authenticate and Service.Revoke, besides ErrMissing and
// ErrMalformed.
var (
	ErrUnknown  = errors.New("unknown token")
	ErrExpired  = errors.New("token expired")
	ErrRevoked  = errors.New("token revoked")
	ErrNotFound = errors.New("token not found")
)

// Service issues, checks and revokes tokens kept in a store.
type Service struct {
	store store.Store
	now   func() time.Time
	rand  io.Reader
}

// NewService returns a Service with the clock now.
func NewService(s store.Store, now func() time.Time) *Service {
	return &Service{store: s, now: now, rand: rand.Reader}
}

// Authenticate checks the value of an Authorization header and returns the
// token it carries.
func (s *Service) Authenticate(ctx context.Context, header string) (store.Token, error) {
	secret, err := FromHeader(header)
	if err != nil {
		return store.Token{}, err
	}
	hash, err := Hash(secret)
	if err != nil {
		return store.Token{}, err
	}
	t, err := s.store.GetTokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.Token{}, ErrUnknown
	}
	if err != nil {
		return store.Token{}, fmt.Errorf("token: look up: %w", err)
	}
	// The store found the token by its hash; comparing again in constant time
	// keeps the decision independent of how the database compared.
	if !Equal(t.Hash, hash) {
		return store.Token{}, ErrUnknown
	}
	now := s.now()
	switch {
	case !t.RevokedAt.IsZero():
		return store.Token{}, ErrRevoked
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return store.Token{}, ErrExpired
	}
	return t, nil
}

// Create issues a token and records it in the audit log. ttl 0 means it
// does not expire. The secret is returned once and never stored.
func (s *Service) Create(ctx context.Context, role store.Role, tenantID, name string,
	ttl time.Duration) (string, store.Token, error) {
	t, secret, err := s.newToken(role, tenantID, name, ttl)
	if err != nil {
		return "", store.Token{}, err
	}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.PutToken(ctx, t); err != nil {
			return fmt.Errorf("token: create: %w", err)
		}
		return audit.Record(ctx, q, t.CreatedAt, "token.create", t.ID,
			map[string]string{"role": string(role), "tenant": tenantID, "name": name})
	})
	if err != nil {
		return "", store.Token{}, err
	}
	return secret, t, nil
}

func (s *Service) newToken(role store.Role, tenantID, name string, ttl time.Duration) (
	store.Token, string, error) {
	if IsTenantRole(role) != (tenantID != "") {
		return store.Token{}, "", fmt.Errorf("token: role %s with tenant %q", role, tenantID)
	}
	id, err := NewID(s.rand)
	if err != nil {
		return store.Token{}, "", err
	}
	secret, hash, err := New(s.rand)
	if err != nil {
		return store.Token{}, "", err
	}
	now := s.now()
	t := store.Token{ID: id, Hash: hash, Role: role, TenantID: tenantID, Name: name,
		CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	return t, secret, nil
}

// List returns the tokens of a tenant, or every token for tenantID "".
func (s *Service) List(ctx context.Context, tenantID string) ([]store.Token, error) {
	ts, err := s.store.ListTokens(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("token: list: %w", err)
	}
	return ts, nil
}

// Revoke revokes a token. With tenantID set, only that tenant's tokens are
// found. Revoking a revoked token changes nothing.
func (s *Service) Revoke(ctx context.Context, id, tenantID string) (store.Token, error) {
	var t store.Token
	err := s.store.Tx(ctx, func(q store.Queries) error {
		var err error
		t, err = q.GetToken(ctx, id)
		if errors.Is(err, store.ErrNotFound) || err == nil && tenantID != "" &&
			t.TenantID != tenantID {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("token: revoke %s: %w", id, err)
		}
		now := s.now()
		if err := q.RevokeToken(ctx, id, now); err != nil {
			return fmt.Errorf("token: revoke %s: %w", id, err)
		}
		if t.RevokedAt.IsZero() {
			t.RevokedAt = now
		}
		return audit.Record(ctx, q, now, "token.revoke", id, nil)
	})
	return t, err
}

// Bootstrap creates an operator token named "bootstrap" if the store has no
// usable operator token, and returns its secret; otherwise it returns "".
// Whoever starts the server can so recover from lost or revoked operator
// tokens.
func (s *Service) Bootstrap(ctx context.Context) (string, error) {
	var secret string
	ctx = audit.NewContext(ctx, audit.Actor{TokenID: "bootstrap", Role: store.RoleOperator})
	err := s.store.Tx(ctx, func(q store.Queries) error {
		ts, err := q.ListTokens(ctx, "")
		if err != nil {
			return fmt.Errorf("token: bootstrap: %w", err)
		}
		operators := 0
		for _, t := range ts {
			if t.Role != store.RoleOperator {
				continue
			}
			operators++
			if t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || s.now().Before(t.ExpiresAt)) {
				return nil
			}
		}
		// Replicas starting at once see the same operator tokens; this
		// marker lets only one of them make the next.
		marker := fmt.Sprintf("token.bootstrap.%d", operators)
		if err := q.PutMeta(ctx, marker, s.now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("token: bootstrap: %w", err)
		}
		var t store.Token
		t, secret, err = s.newToken(store.RoleOperator, "", "bootstrap", 0)
		if err != nil {
			return err
		}
		if err := q.PutToken(ctx, t); err != nil {
			return fmt.Errorf("token: bootstrap: %w", err)
		}
		return audit.Record(ctx, q, t.CreatedAt, "token.create", t.ID,
			map[string]string{"role": string(store.RoleOperator), "name": "bootstrap"})
	})
	if errors.Is(err, store.ErrConflict) {
		return "", nil // another replica made it
	}
	if err != nil {
		return "", err
	}
	return secret, nil
}
