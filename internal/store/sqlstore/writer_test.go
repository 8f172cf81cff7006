package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hallmark-project/hallmark/internal/store"
)

// The tests here make the writer's own statements fail, on a schema of
// their own: a meta table whose values must name a parent, checked at
// COMMIT.
const failSchema = `
CREATE TABLE parents (id TEXT PRIMARY KEY);
INSERT INTO parents (id) VALUES ('ok');
CREATE TABLE meta (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED
);`

// openGroup returns a group commit store on a new file with failSchema,
// and the file's path. Its writer does not wait for a lock another
// connection holds.
func openGroup(t *testing.T) (store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	openDB := func(pragmas ...string) *sql.DB {
		q := url.Values{"_pragma": append([]string{"journal_mode(WAL)", "busy_timeout(0)",
			"foreign_keys(1)"}, pragmas...)}
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	d := Dialect{Name: "sqlite"}
	write := openDB()
	write.SetMaxOpenConns(1)
	err := Migrate(t.Context(), write, d,
		fstest.MapFS{"0001_fail.sql": &fstest.MapFile{Data: []byte(failSchema)}})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewGroupCommit(t.Context(), openDB("query_only(1)"), write, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestCommitFails fails the COMMIT of a batch: every request whose fn
// succeeded gets the error and none of its writes stays; the writer goes
// on with the next batch.
func TestCommitFails(t *testing.T) {
	s, _ := openGroup(t)
	ctx := t.Context()
	errFn := errors.New("fn failed")

	// Hold the writer while the batch queues.
	started, hold, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- s.Tx(ctx, func(q store.Queries) error {
			close(started)
			<-hold
			return q.PutMeta(ctx, "holder", "ok")
		})
	}()
	<-started
	calls := []func() error{
		func() error { return s.PutMeta(ctx, "a", "ok") },
		func() error { return s.PutMeta(ctx, "b", "no-such-parent") }, // fails the COMMIT
		func() error {
			return s.Tx(ctx, func(q store.Queries) error {
				if err := q.PutMeta(ctx, "c", "no-such-parent"); err != nil {
					return err
				}
				return errFn
			})
		},
	}
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, call := range calls {
		wg.Go(func() { errs[i] = call() })
		for n, _ := QueuedForTest(s); n < i+1; n, _ = QueuedForTest(s) {
			time.Sleep(100 * time.Microsecond)
		}
	}
	close(hold)
	if err := <-held; err != nil {
		t.Fatalf("holding transaction: %v", err)
	}
	wg.Wait()

	for i, err := range errs[:2] {
		if err == nil || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			t.Errorf("write %d of the failed batch: %v, want the commit's error", i, err)
		}
	}
	if errs[2] != errFn {
		t.Errorf("failed fn in the failed batch: %v, want fn's error as it is", errs[2])
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, err := s.GetMeta(ctx, k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetMeta(%q) = %v, want not found", k, err)
		}
	}
	if err := s.PutMeta(ctx, "d", "ok"); err != nil {
		t.Fatalf("write after the failed batch: %v", err)
	}
	if v, err := s.GetMeta(ctx, "d"); err != nil || v != "ok" {
		t.Errorf("GetMeta(d) = %q, %v", v, err)
	}
}

// TestBeginFails has another connection hold the write lock: the writer
// cannot begin, every waiting request gets the error without running, and
// the writer begins again once the lock is free.
func TestBeginFails(t *testing.T) {
	s, path := openGroup(t)
	ctx := t.Context()
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}

	const n = 4
	errs := make([]error, n)
	ran := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Tx(ctx, func(q store.Queries) error {
				ran[i] = true
				return q.PutMeta(ctx, fmt.Sprint(i), "ok")
			})
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] == nil || ran[i] {
			t.Errorf("request %d: ran %v, error %v; want an error without running",
				i, ran[i], errs[i])
		}
	}

	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, "after", "ok"); err != nil {
		t.Errorf("write after the lock was freed: %v", err)
	}
}

// TestTurnChecksContext ends a transaction's context between two of its
// statements: the second does not run, and the first rolls back with it.
func TestTurnChecksContext(t *testing.T) {
	s, _ := openGroup(t)
	ctx, cancel := context.WithCancel(t.Context())
	err := s.Tx(ctx, func(q store.Queries) error {
		if err := q.PutMeta(ctx, "a", "ok"); err != nil {
			return err
		}
		cancel()
		return q.PutMeta(ctx, "b", "ok")
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Tx = %v, want context.Canceled", err)
	}
	if _, err := s.GetMeta(t.Context(), "a"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMeta(a) = %v, want not found", err)
	}
}

// TestPruneStmts runs more distinct statements than the writer keeps
// prepared: it closes them between batches and goes on.
func TestPruneStmts(t *testing.T) {
	s, _ := openGroup(t)
	ctx := t.Context()
	err := s.Tx(ctx, func(q store.Queries) error {
		for i := range 2 * maxStmts {
			var n int
			err := q.(*queries).q.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d`, i)).Scan(&n)
			if err != nil || n != i {
				return fmt.Errorf("statement %d: %d, %v", i, n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta(ctx, "a", "ok"); err != nil {
		t.Fatalf("write after pruning: %v", err)
	}
	g := s.(*groupStore)
	g.stmtMu.Lock()
	defer g.stmtMu.Unlock()
	if len(g.stmts) > maxStmts {
		t.Errorf("%d prepared statements kept, want at most %d", len(g.stmts), maxStmts)
	}
}

// TestDirectPanics checks that a panic in a write the writer runs itself
// comes back as an error, with its statements rolled back, and that the
// writer goes on with the rest of the batch and the batches after it.
func TestDirectPanics(t *testing.T) {
	s, _ := openGroup(t)
	g := s.(*groupStore)
	ctx := t.Context()
	err := g.do(ctx, func(q *queries) error {
		if err := q.PutMeta(ctx, "lost", "ok"); err != nil {
			return err
		}
		panic("a bug in the store")
	})
	if err == nil || !strings.Contains(err.Error(), "panic: a bug in the store") {
		t.Fatalf("do = %v, want the panic as an error", err)
	}
	if err := s.PutMeta(ctx, "kept", "ok"); err != nil {
		t.Fatalf("PutMeta after the panic: %v", err)
	}
	if _, err := s.GetMeta(ctx, "lost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetMeta(lost) = %v, want ErrNotFound: the panicking write was kept", err)
	}
	if v, err := s.GetMeta(ctx, "kept"); err != nil || v != "ok" {
		t.Errorf("GetMeta(kept) = %q, %v; want ok", v, err)
	}
}
