package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

func (q *queries) PutToken(ctx context.Context, t store.Token) error {
	if len(t.Hash) == 0 {
		return fmt.Errorf("store: put token %q: empty hash", t.ID)
	}
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO tokens (id, hash, role, tenant_id, name, created_at, expires_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.Hash, string(t.Role), t.TenantID, t.Name,
		micros(t.CreatedAt), micros(t.ExpiresAt), micros(t.RevokedAt))
	if err != nil {
		return q.fail(err, "put token %q", t.ID)
	}
	return nil
}

const tokenCols = `id, hash, role, tenant_id, name, created_at, expires_at, revoked_at`

func scanToken(s scanner) (store.Token, error) {
	var t store.Token
	err := s.Scan(&t.ID, bytesCol{&t.Hash}, &t.Role, &t.TenantID, &t.Name,
		timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, timeCol{&t.RevokedAt})
	return t, err
}

func (q *queries) GetTokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	row := q.q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`,
		blob(hash))
	t, err := scanToken(row)
	if err != nil {
		// The hash stays out of the message: it stands for a secret.
		return store.Token{}, q.fail(err, "get token by hash")
	}
	return t, nil
}

func (q *queries) GetToken(ctx context.Context, id string) (store.Token, error) {
	row := q.q.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE id = $1`, id)
	t, err := scanToken(row)
	if err != nil {
		return store.Token{}, q.fail(err, "get token %q", id)
	}
	return t, nil
}

func (q *queries) ListTokens(ctx context.Context, tenantID string) ([]store.Token, error) {
	query := `SELECT ` + tokenCols + ` FROM tokens`
	var args []any
	if tenantID != "" {
		query += ` WHERE tenant_id = $1`
		args = append(args, tenantID)
	}
	ts, err := list(ctx, q.q, scanToken, query+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, q.fail(err, "list tokens")
	}
	return ts, nil
}

func (q *queries) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("store: revoke token %q: zero time", id)
	}
	n, err := affected(q.q.ExecContext(ctx,
		`UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0`, id, micros(at)))
	if err != nil || n == 1 {
		return q.failIf(err, "revoke token %q", id)
	}
	var one int
	err = q.q.QueryRowContext(ctx, `SELECT 1 FROM tokens WHERE id = $1`, id).Scan(&one)
	return q.failIf(err, "revoke token %q", id)
}

// AppendAudit ignores e.Seq.
func (q *queries) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO audit_log (at, token_id, role, tenant_id, action, target, result,
			request_id, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		micros(e.At), e.TokenID, string(e.Role), e.TenantID, e.Action, e.Target, e.Result,
		e.RequestID, e.Detail)
	if err != nil {
		return q.fail(err, "append audit %q", e.Action)
	}
	return nil
}

func scanAudit(s scanner) (store.AuditEntry, error) {
	var e store.AuditEntry
	err := s.Scan(&e.Seq, timeCol{&e.At}, &e.TokenID, &e.Role, &e.TenantID, &e.Action,
		&e.Target, &e.Result, &e.RequestID, &e.Detail)
	return e, err
}

func (q *queries) ListAudit(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	n, err := limit(f.Limit, 100)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	if f.Before < 0 {
		return nil, fmt.Errorf("store: list audit: negative bound %d", f.Before)
	}
	query := `SELECT seq, at, token_id, role, tenant_id, action, target, result,
		request_id, detail FROM audit_log`
	args := []any{int64(n)}
	if f.Before > 0 {
		query += ` WHERE seq < $2`
		args = append(args, f.Before)
	}
	es, err := list(ctx, q.q, scanAudit, query+` ORDER BY seq DESC LIMIT $1`, args...)
	if err != nil {
		return nil, q.fail(err, "list audit")
	}
	return es, nil
}
