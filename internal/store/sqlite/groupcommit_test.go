package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/sqlstore"
)

// The tests here queue transactions behind one that holds the writer, so
// that they run in one batch, in the order they were queued.

var t0 = time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

func nonce(value, device string) store.Nonce {
	return store.Nonce{Value: []byte(value), DeviceID: device, CreatedAt: t0,
		ExpiresAt: t0.Add(time.Minute)}
}

// withDevices registers d-1 and d-2, which the nonces here are for, and
// returns s.
func withDevices(tb testing.TB, s store.Store) store.Store {
	tb.Helper()
	if _, err := s.RegisterDevices(tb.Context(), []string{"d-1", "d-2"}, t0); err != nil {
		tb.Fatal(err)
	}
	return s
}

// holdWriter runs a transaction that puts a nonce and holds the writer
// until the returned function is called, or the test ends; that function
// waits for the transaction's commit.
func holdWriter(t *testing.T, s store.Store) (release func()) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	var once sync.Once
	free := func() { once.Do(func() { close(hold) }) }
	// Cleanups run last first: this one before the store's Close.
	t.Cleanup(free)
	go func() {
		done <- s.Tx(t.Context(), func(q store.Queries) error {
			close(started)
			<-hold
			return q.PutNonce(t.Context(), nonce("n-holder", "d-1"))
		})
	}()
	<-started
	return func() {
		free()
		if err := <-done; err != nil {
			t.Errorf("holding transaction: %v", err)
		}
	}
}

// waitFor waits until cond holds for the writer of s: how many
// transactions wait for it, and whether Close was called. It returns false
// if ctx ends first.
func waitFor(ctx context.Context, s store.Store, cond func(queued int, closed bool) bool) bool {
	for !cond(sqlstore.QueuedForTest(s)) {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Microsecond):
		}
	}
	return true
}

// waitQueued waits until n transactions wait for the writer of s.
func waitQueued(t *testing.T, s store.Store, n int) {
	t.Helper()
	if !waitFor(t.Context(), s, func(q int, _ bool) bool { return q >= n }) {
		t.Fatalf("fewer than %d transactions queued", n)
	}
}

// present reports whether the nonce is in the store: consuming it for
// another device is refused with a conflict, and changes nothing.
func present(t *testing.T, s store.Store, value string) bool {
	t.Helper()
	_, err := s.ConsumeNonce(t.Context(), []byte(value), "d-other", t0)
	switch {
	case errors.Is(err, store.ErrConflict):
		return true
	case errors.Is(err, store.ErrNotFound):
		return false
	}
	t.Fatalf("nonce %s: %v", value, err)
	return false
}

// TestBatch runs one batch of transactions with every outcome: each
// gets its own answer, and only the failed ones' writes are missing.
func TestBatch(t *testing.T) {
	s := withDevices(t, open(t, filepath.Join(t.TempDir(), "hallmark.db")))
	ctx := t.Context()
	errFn := errors.New("fn failed")
	put := func(value string, then error) func(q store.Queries) error {
		return func(q store.Queries) error {
			if err := q.PutNonce(ctx, nonce(value, "d-1")); err != nil {
				return err
			}
			return then
		}
	}
	cctx, cancel := context.WithCancel(ctx)

	// The cases are queued in order; each may see what those before it
	// wrote in the batch's transaction.
	tests := []struct {
		name    string
		run     func() error
		early   bool // returns while the writer is held
		err     error
		present []string
		absent  []string
	}{
		{"commit", func() error { return s.Tx(ctx, put("n-1", nil)) },
			false, nil, []string{"n-1"}, nil},
		{"fn-error", func() error { return s.Tx(ctx, put("n-2", errFn)) },
			false, errFn, nil, []string{"n-2"}},
		{"panic", func() (err error) {
			defer func() {
				if recover() == nil {
					err = errors.New("the panic in fn did not reach the caller")
				}
			}()
			return s.Tx(ctx, func(q store.Queries) error {
				if err := q.PutNonce(ctx, nonce("n-3", "d-1")); err != nil {
					return err
				}
				panic("fn panicked")
			})
		}, false, nil, nil, []string{"n-3"}},
		{"conflict-in-batch", func() error { return s.Tx(ctx, put("n-1", nil)) },
			false, store.ErrConflict, nil, nil},
		{"canceled-while-queued", func() error { return s.Tx(cctx, put("n-4", nil)) },
			true, context.Canceled, nil, []string{"n-4"}},
		{"store-write", func() error { return s.PutNonce(ctx, nonce("n-5", "d-1")) },
			false, nil, []string{"n-5"}, nil},
		// The refusal is explained from the batch's own write of n-1.
		{"store-consume-refused", func() error {
			_, err := s.ConsumeNonce(ctx, []byte("n-1"), "d-2", t0)
			return err
		}, false, store.ErrConflict, nil, nil},
		{"store-consume", func() error {
			_, err := s.ConsumeNonce(ctx, []byte("n-5"), "d-1", t0)
			return err
		}, false, nil, nil, nil},
	}

	release := holdWriter(t, s)
	done := make([]chan error, len(tests))
	for i, tc := range tests {
		done[i] = make(chan error, 1)
		go func() { done[i] <- tc.run() }()
		waitQueued(t, s, i+1)
	}
	cancel()
	errs := make([]error, len(tests))
	for i, tc := range tests {
		if tc.early {
			errs[i] = <-done[i]
		}
	}
	release()
	for i, tc := range tests {
		if !tc.early {
			errs[i] = <-done[i]
		}
	}

	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == errFn && errs[i] != errFn {
				t.Errorf("error = %v, want fn's error as it is", errs[i])
			}
			if !errors.Is(errs[i], tc.err) {
				t.Errorf("error = %v, want %v", errs[i], tc.err)
			}
			for _, v := range tc.present {
				if !present(t, s, v) {
					t.Errorf("nonce %s missing", v)
				}
			}
			for _, v := range tc.absent {
				if present(t, s, v) {
					t.Errorf("nonce %s present", v)
				}
			}
		})
	}
	if !present(t, s, "n-holder") {
		t.Error("the holding transaction's nonce is missing")
	}
}

// TestCloseDrains closes the store while transactions wait for the writer:
// they run before Close returns, and the store refuses work after.
func TestCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hallmark.db")
	s := withDevices(t, open(t, path))
	ctx := t.Context()
	release := holdWriter(t, s)
	const n = 5
	done := make(chan error, n)
	for i := range n {
		go func() { done <- s.PutNonce(ctx, nonce(fmt.Sprintf("n-%d", i), "d-1")) }()
		waitQueued(t, s, i+1)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	if !waitFor(ctx, s, func(_ int, c bool) bool { return c }) {
		t.Fatal("Close did not begin")
	}
	release()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range n {
		if err := <-done; err != nil {
			t.Errorf("transaction queued before Close: %v", err)
		}
	}

	after := []struct {
		name string
		call func() error
	}{
		{"tx", func() error { return s.Tx(ctx, func(store.Queries) error { return nil }) }},
		{"write", func() error { return s.PutNonce(ctx, nonce("n-late", "d-1")) }},
		{"read", func() error { _, err := s.GetTenant(ctx, "t-a"); return err }},
		{"ping", func() error { return s.Ping(ctx) }},
	}
	for _, tc := range after {
		t.Run("after-close-"+tc.name, func(t *testing.T) {
			if err := tc.call(); err == nil {
				t.Error("succeeded after Close, want an error")
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	s = open(t, path)
	for _, v := range []string{"n-holder", "n-0", "n-4"} {
		if !present(t, s, v) {
			t.Errorf("nonce %s lost", v)
		}
	}
}

// TestNestedTx calls the store from inside a transaction, which the store
// does not support: the inner call waits for the writer, which waits for
// the outer transaction, until the inner call's context ends.
func TestNestedTx(t *testing.T) {
	s := withDevices(t, open(t, filepath.Join(t.TempDir(), "hallmark.db")))
	ctx := t.Context()
	var inner error
	err := s.Tx(ctx, func(q store.Queries) error {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			waitFor(cctx, s, func(q int, _ bool) bool { return q >= 1 })
			cancel()
		}()
		inner = s.PutNonce(cctx, nonce("n-inner", "d-1"))
		return q.PutNonce(ctx, nonce("n-outer", "d-1"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inner, context.Canceled) {
		t.Errorf("nested write = %v, want context.Canceled", inner)
	}
	if !present(t, s, "n-outer") || present(t, s, "n-inner") {
		t.Error("want the outer transaction's nonce only")
	}
}

// TestReadPoolRefusesWrites checks the pool for reads outside Tx: a write
// that missed the writer would fail there, not wait for the write lock.
func TestReadPoolRefusesWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hallmark.db")
	open(t, path)
	read, err := openDB(t.Context(), path, true, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer read.Close()
	_, err = read.ExecContext(t.Context(), `INSERT INTO meta (name, value) VALUES ('k', 'v')`)
	if err == nil {
		t.Error("the read pool accepted a write")
	}
	var n int
	if err := read.QueryRowContext(t.Context(), `SELECT count(*) FROM meta`).Scan(&n); err != nil {
		t.Errorf("the read pool refused a read: %v", err)
	}
}
