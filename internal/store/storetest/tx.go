package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

func testTxCommit(t *testing.T, s store.Store) {
	ctx := t.Context()
	ten := store.Tenant{ID: "t-a", Name: "acme", CreatedAt: t0}
	key := store.Key{ID: "k-1", Backend: "sealed", Ref: []byte{1}, CreatedAt: t0}
	err := s.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateTenant(ctx, ten); err != nil {
			return err
		}
		if err := q.PutKey(ctx, key); err != nil {
			return err
		}
		// A transaction reads its own writes.
		got, err := q.GetTenant(ctx, ten.ID)
		if err != nil {
			return err
		}
		wantDiff(t, ten, got)
		return nil
	})
	mustOK(t, err)

	gotTenant, err := s.GetTenant(ctx, ten.ID)
	mustOK(t, err)
	wantDiff(t, ten, gotTenant)
	gotKey, err := s.GetKey(ctx, key.ID)
	mustOK(t, err)
	wantDiff(t, key, gotKey)
}

func testTxRollback(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustOK(t, s.CreateTenant(ctx, store.Tenant{ID: "t-a", Name: "acme", CreatedAt: t0}))
	_, err := s.RegisterDevices(ctx, []string{"d-1"}, t0)
	mustOK(t, err)

	errFn := errors.New("fn failed")
	tests := []struct {
		name string
		fn   func(t *testing.T, q store.Queries) error
		want error
	}{
		{"fn-error", func(t *testing.T, q store.Queries) error {
			mustOK(t, q.CreateTenant(ctx, store.Tenant{ID: "t-b", Name: "beta"}))
			mustOK(t, q.PutKey(ctx, store.Key{ID: "k-1", Backend: "sealed"}))
			n, err := q.RegisterDevices(ctx, []string{"d-2", "d-3"}, t0)
			mustOK(t, err)
			if n != 2 {
				t.Errorf("RegisterDevices in Tx = %d, want 2", n)
			}
			claimed, err := q.ClaimDevice(ctx, "d-1", "t-a", t0)
			mustOK(t, err)
			if !claimed {
				t.Error("ClaimDevice in Tx = false, want true")
			}
			mustOK(t, q.AppendAudit(ctx, store.AuditEntry{At: t0, Action: "tenant.create"}))
			return errFn
		}, errFn},
		{"conflict", func(t *testing.T, q store.Queries) error {
			mustOK(t, q.PutKey(ctx, store.Key{ID: "k-1", Backend: "sealed"}))
			return q.CreateTenant(ctx, store.Tenant{ID: "t-b", Name: "acme"})
		}, store.ErrConflict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Tx(ctx, func(q store.Queries) error { return tc.fn(t, q) })
			if tc.want == errFn && err != errFn {
				t.Errorf("Tx = %v, want fn's error as it is", err)
			}
			wantErr(t, err, tc.want)

			_, err = s.GetTenant(ctx, "t-b")
			wantErr(t, err, store.ErrNotFound)
			_, err = s.GetKey(ctx, "k-1")
			wantErr(t, err, store.ErrNotFound)
			_, err = s.GetDevice(ctx, "d-2")
			wantErr(t, err, store.ErrNotFound)
			d, err := s.GetDevice(ctx, "d-1")
			mustOK(t, err)
			wantDiff(t, store.Device{ID: "d-1", RegisteredAt: t0}, d)
			es, err := s.ListAudit(ctx, store.AuditFilter{})
			mustOK(t, err)
			wantDiff(t, 0, len(es))
		})
	}
}

// testTxMisuse checks that bad use of Tx gives errors, not panics or a
// stuck store.
func testTxMisuse(t *testing.T, s store.Store) {
	ctx := t.Context()
	t.Run("nil-fn", func(t *testing.T) {
		wantErr(t, s.Tx(ctx, nil), errInvalid)
	})

	t.Run("queries-after-tx", func(t *testing.T) {
		var kept store.Queries
		mustOK(t, s.Tx(ctx, func(q store.Queries) error {
			kept = q
			return nil
		}))
		_, err := kept.GetTenant(ctx, "t-a")
		wantErr(t, err, errInvalid)
		wantErr(t, kept.CreateTenant(ctx, store.Tenant{ID: "t-a", Name: "acme"}), errInvalid)
	})

	t.Run("panic", func(t *testing.T) {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("the panic in fn did not reach the caller")
				}
			}()
			_ = s.Tx(ctx, func(q store.Queries) error {
				mustOK(t, q.CreateTenant(ctx, store.Tenant{ID: "t-p", Name: "panic"}))
				panic("fn panicked")
			})
		}()
		// The transaction rolled back and released its locks: a write
		// goes through well before a lock wait would time out.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		mustOK(t, s.CreateTenant(wctx, store.Tenant{ID: "t-q", Name: "after"}))
		_, err := s.GetTenant(ctx, "t-p")
		wantErr(t, err, store.ErrNotFound)
	})

	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		err := s.Tx(cctx, func(q store.Queries) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Tx with a canceled context = %v, want context.Canceled", err)
		}
	})
}
