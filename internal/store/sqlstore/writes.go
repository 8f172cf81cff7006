package sqlstore

import (
	"context"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

// The writes of a groupStore's own methods each run as a transaction of
// the writer, on its goroutine (groupStore.do), so that they are batched
// with the others. Its reads run on
// the read pool, through the embedded queries.

// write runs fn as a transaction of the writer and returns what fn
// returned, with the transaction's error if fn succeeded.
func write[T any](s *groupStore, ctx context.Context,
	fn func(q *queries) (T, error)) (T, error) {
	var v T
	err := s.do(ctx, func(q *queries) error {
		var err error
		v, err = fn(q)
		return err
	})
	return v, err
}

func (s *groupStore) PutMeta(ctx context.Context, key, value string) error {
	return s.do(ctx, func(q *queries) error { return q.PutMeta(ctx, key, value) })
}

func (s *groupStore) CreateTenant(ctx context.Context, t store.Tenant) error {
	return s.do(ctx, func(q *queries) error { return q.CreateTenant(ctx, t) })
}

func (s *groupStore) PutKey(ctx context.Context, k store.Key) error {
	return s.do(ctx, func(q *queries) error { return q.PutKey(ctx, k) })
}

func (s *groupStore) PutCA(ctx context.Context, ca store.CA) error {
	return s.do(ctx, func(q *queries) error { return q.PutCA(ctx, ca) })
}

func (s *groupStore) RevokeCA(ctx context.Context, id string, at time.Time) error {
	return s.do(ctx, func(q *queries) error { return q.RevokeCA(ctx, id, at) })
}

func (s *groupStore) PutCert(ctx context.Context, c store.Cert) error {
	return s.do(ctx, func(q *queries) error { return q.PutCert(ctx, c) })
}

func (s *groupStore) RevokeDeviceCerts(ctx context.Context, deviceID string,
	at time.Time) (int, error) {
	return write(s, ctx, func(q *queries) (int, error) {
		return q.RevokeDeviceCerts(ctx, deviceID, at)
	})
}

func (s *groupStore) RegisterDevices(ctx context.Context, ids []string,
	at time.Time) (int, error) {
	return write(s, ctx, func(q *queries) (int, error) {
		return q.RegisterDevices(ctx, ids, at)
	})
}

func (s *groupStore) SetDeviceBlocked(ctx context.Context, id string, blocked bool,
	at time.Time) error {
	return s.do(ctx, func(q *queries) error { return q.SetDeviceBlocked(ctx, id, blocked, at) })
}

func (s *groupStore) ClaimDevice(ctx context.Context, id, tenantID string,
	at time.Time) (bool, error) {
	return write(s, ctx, func(q *queries) (bool, error) {
		return q.ClaimDevice(ctx, id, tenantID, at)
	})
}

func (s *groupStore) PutToken(ctx context.Context, t store.Token) error {
	return s.do(ctx, func(q *queries) error { return q.PutToken(ctx, t) })
}

func (s *groupStore) RevokeToken(ctx context.Context, id string, at time.Time) error {
	return s.do(ctx, func(q *queries) error { return q.RevokeToken(ctx, id, at) })
}

func (s *groupStore) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	return s.do(ctx, func(q *queries) error { return q.AppendAudit(ctx, e) })
}

func (s *groupStore) PutCRL(ctx context.Context, c store.CRL) error {
	return s.do(ctx, func(q *queries) error { return q.PutCRL(ctx, c) })
}

func (s *groupStore) PutNonce(ctx context.Context, n store.Nonce) error {
	return s.do(ctx, func(q *queries) error { return q.PutNonce(ctx, n) })
}

// ConsumeNonce runs the UPDATE, and the read that explains a refusal, in
// one savepoint on the writer's connection.
func (s *groupStore) ConsumeNonce(ctx context.Context, value []byte, deviceID string,
	now time.Time) (store.Nonce, error) {
	return write(s, ctx, func(q *queries) (store.Nonce, error) {
		return q.ConsumeNonce(ctx, value, deviceID, now)
	})
}

func (s *groupStore) DeleteNonces(ctx context.Context, expiredBefore time.Time) (int, error) {
	return write(s, ctx, func(q *queries) (int, error) {
		return q.DeleteNonces(ctx, expiredBefore)
	})
}

func (s *groupStore) PutCatalogue(ctx context.Context, c store.Catalogue) error {
	return s.do(ctx, func(q *queries) error { return q.PutCatalogue(ctx, c) })
}

func (s *groupStore) PutIssuance(ctx context.Context, i store.Issuance) error {
	return s.do(ctx, func(q *queries) error { return q.PutIssuance(ctx, i) })
}

// RecordAttestation writes in one savepoint on the writer's connection.
func (s *groupStore) RecordAttestation(ctx context.Context, a store.Attestation) (store.Nonce,
	error) {
	if a.Cert == nil || a.Issuance == nil {
		// ConsumeNonce, or the error of an inconsistent a.
		return write(s, ctx, func(q *queries) (store.Nonce, error) {
			return q.RecordAttestation(ctx, a)
		})
	}
	if err := checkAttestation(a); err != nil {
		return store.Nonce{}, err
	}
	return recordIn(ctx, a, func(fn func(q *queries) error) error { return s.do(ctx, fn) })
}
