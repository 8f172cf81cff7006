package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// testTxConcurrent runs many transactions at once, as the DAA's requests
// do, each putting and consuming its own nonce; some fail or panic after
// their writes. Those that fail leave nothing, whatever their neighbours
// did, and the others commit.
func testTxConcurrent(t *testing.T, s store.Store) {
	ctx := t.Context()
	nonceDevices(t, s)
	const n = 200
	errFn := errors.New("fn failed")
	// outcome tells what transaction i does after its writes.
	outcome := func(i int) string {
		switch {
		case i%10 == 3:
			return "fail"
		case i%25 == 7:
			return "panic"
		}
		return "commit"
	}
	nonce := func(i int) store.Nonce { return newNonce(fmt.Sprintf("n-%03d", i), "d-1") }
	at := t0.Add(time.Second)

	errs := make([]error, n)
	panicked := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panicked[i] = recover() != nil }()
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				if err := q.PutNonce(ctx, nonce(i)); err != nil {
					return err
				}
				if _, err := q.ConsumeNonce(ctx, nonce(i).Value, "d-1", at); err != nil {
					return err
				}
				switch outcome(i) {
				case "fail":
					return errFn
				case "panic":
					panic("fn panicked")
				}
				return nil
			})
		})
	}
	wg.Wait()

	for i := range n {
		t.Run(fmt.Sprintf("%03d-%s", i, outcome(i)), func(t *testing.T) {
			switch outcome(i) {
			case "fail":
				if errs[i] != errFn {
					t.Errorf("Tx = %v, want fn's error as it is", errs[i])
				}
			case "panic":
				if !panicked[i] {
					t.Error("the panic in fn did not reach the caller")
				}
			default:
				mustOK(t, errs[i])
			}

			// A committed nonce is used; a rolled back one was never put.
			got, err := s.ConsumeNonce(ctx, nonce(i).Value, "d-1", at)
			if outcome(i) != "commit" {
				wantErr(t, err, store.ErrNotFound)
				return
			}
			wantErr(t, err, store.ErrConflict)
			want := nonce(i)
			want.ConsumedAt = at
			wantDiff(t, want, got)
		})
	}
}
