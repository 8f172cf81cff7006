package sqlstore

import (
	"context"

	"github.com/hallmark-project/hallmark/internal/store"
)

func (q *queries) GetMeta(ctx context.Context, key string) (string, error) {
	var v string
	err := q.q.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = $1`, key).Scan(&v)
	if err != nil {
		return "", q.fail(err, "get meta %q", key)
	}
	return v, nil
}

func (q *queries) PutMeta(ctx context.Context, key, value string) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ($1, $2)`, key, value)
	if err != nil {
		return q.fail(err, "put meta %q", key)
	}
	return nil
}

func (q *queries) CreateTenant(ctx context.Context, t store.Tenant) error {
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)`,
		t.ID, t.Name, micros(t.CreatedAt))
	if err != nil {
		return q.fail(err, "create tenant %q", t.ID)
	}
	return nil
}

const tenantCols = `id, name, created_at`

func scanTenant(s scanner) (store.Tenant, error) {
	var t store.Tenant
	err := s.Scan(&t.ID, &t.Name, timeCol{&t.CreatedAt})
	return t, err
}

func (q *queries) GetTenant(ctx context.Context, id string) (store.Tenant, error) {
	row := q.q.QueryRowContext(ctx, `SELECT `+tenantCols+` FROM tenants WHERE id = $1`, id)
	t, err := scanTenant(row)
	if err != nil {
		return store.Tenant{}, q.fail(err, "get tenant %q", id)
	}
	return t, nil
}

func (q *queries) ListTenants(ctx context.Context) ([]store.Tenant, error) {
	ts, err := list(ctx, q.q, scanTenant,
		`SELECT `+tenantCols+` FROM tenants ORDER BY name, id`)
	if err != nil {
		return nil, q.fail(err, "list tenants")
	}
	return ts, nil
}

func (q *queries) PutKey(ctx context.Context, k store.Key) error {
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO ca_keys (id, backend, ref, public, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.Backend, blob(k.Ref), blob(k.Public), micros(k.CreatedAt))
	if err != nil {
		return q.fail(err, "put key %q", k.ID)
	}
	return nil
}

func (q *queries) GetKey(ctx context.Context, id string) (store.Key, error) {
	var k store.Key
	err := q.q.QueryRowContext(ctx,
		`SELECT id, backend, ref, public, created_at FROM ca_keys WHERE id = $1`, id,
	).Scan(&k.ID, &k.Backend, bytesCol{&k.Ref}, bytesCol{&k.Public}, timeCol{&k.CreatedAt})
	if err != nil {
		return store.Key{}, q.fail(err, "get key %q", id)
	}
	return k, nil
}
