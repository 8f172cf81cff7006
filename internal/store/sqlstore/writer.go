package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/hallmark-project/hallmark/internal/store"
)

// maxBatch is the most transactions one commit of the writer takes.
const maxBatch = 256

// maxStmts is how many prepared statements the writer keeps between
// batches. Queries built on the fly, such as registrations in chunks of
// any size, would otherwise add up.
const maxStmts = 64

// errClosed is the answer to a transaction asked for after Close.
var errClosed = errors.New("store: closed")

// errTxOver is what the Queries of a transaction answer after fn returned.
var errTxOver = errors.New("transaction has ended")

// NewGroupCommit returns a store on a SQLite database, whose schema Migrate
// has set up, that commits its write transactions in batches. read is a
// pool for the reads outside Tx; it should refuse writes (query_only), so
// that a write that missed the writer fails rather than waits for the
// lock. The store takes one connection of write for its writer and uses
// write for nothing else. The store owns both: its Close closes them.
func NewGroupCommit(ctx context.Context, read, write *sql.DB, d Dialect) (store.Store, error) {
	conn, err := write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: open %s writer: %w", d.Name, err)
	}
	prepared := newPreparedDB(read)
	s := &groupStore{
		queries: queries{q: sqlQuerier{prepared}, d: &d, db: read},
		readDB:  read,
		readPre: prepared,
		writeDB: write,
		conn:    conn,
		stmts:   make(map[string]*sql.Stmt),
		ended:   make(chan error),
		wake:    make(chan struct{}, 1),
		stopped: make(chan struct{}),
	}
	go s.run()
	return s, nil
}

// QueuedForTest returns how many transactions wait for the writer of s, a
// store from NewGroupCommit, counting those whose caller gave up waiting,
// and whether Close was called.
func QueuedForTest(s store.Store) (n int, closed bool) {
	g := s.(*groupStore)
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue), g.closed
}

// groupStore is a store.Store whose write transactions, and the writes of
// its own methods, run one after another on conn, in batches: the writer
// goroutine (run) begins a transaction, gives each waiting request a turn
// in a savepoint of it, and commits them all at once.
type groupStore struct {
	queries // reads outside Tx, on the read pool

	readDB  *sql.DB
	readPre *preparedDB // prepared statements on readDB
	writeDB *sql.DB
	conn    *sql.Conn     // writeDB's connection, for the writer and the current turn
	ended   chan error    // from the current turn as it ends: nil, or why the batch fails
	wake    chan struct{} // a request is queued, or Close was called
	stopped chan struct{} // closed when the writer has returned

	mu     sync.Mutex
	queue  []*request // guarded by mu; oldest first
	closed bool       // guarded by mu

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // guarded by stmtMu; prepared on conn, by query

	closeOnce sync.Once
	closeErr  error // set by closeOnce
}

// A request is one transaction waiting for its turn. A Tx runs its fn on
// the caller's goroutine, handed the connection in a turn; a write of the
// Store's own methods (direct) runs on the writer's goroutine, so that it
// costs no hand-off between goroutines.
type request struct {
	state atomic.Int32 // queued, then taken by the writer or abandoned by its caller
	turn  chan *turn   // buffered: from the writer when the request is taken
	done  chan error   // buffered: from the writer, the outcome of the batch

	// For a direct request: what the writer runs, with the caller's ctx,
	// and, set by the writer before done, fn's own error.
	ctx    context.Context
	direct func(q *queries) error
	fnErr  error
}

// The states of a request.
const (
	queued int32 = iota
	taken
	abandoned
)

// Tx runs fn in a savepoint of the writer's transaction. fn runs on the
// caller's goroutine, so a panic in fn reaches the caller as it is, while
// the writer waits. A Tx, or a write of the Store, called inside fn waits
// for the writer in turn, until its ctx ends: nesting is not supported.
func (s *groupStore) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	if fn == nil {
		return errors.New("store: transaction: nil function")
	}
	return s.tx(ctx, func(q *queries) error { return fn(q) })
}

// tx queues a request, waits for its turn, runs fn, and waits for the
// batch's commit if fn succeeded.
func (s *groupStore) tx(ctx context.Context, fn func(q *queries) error) error {
	r := &request{turn: make(chan *turn, 1), done: make(chan error, 1)}
	if err := s.enqueue(ctx, r); err != nil {
		return err
	}
	var t *turn
	select {
	case t = <-r.turn:
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return notStarted(ctx.Err())
		}
		t = <-r.turn // the writer took it as ctx ended
	}
	if err := t.run(ctx, s.d, fn); err != nil {
		return err
	}
	return <-r.done
}

// do queues fn for the writer to run itself, in a savepoint of its batch,
// and waits for the batch's commit. It returns fn's error if fn failed, else
// the commit's. fn must be the store's own code: it runs on the writer's
// goroutine, while every other write waits, and a panic in it is turned
// into an error so that the writer goes on.
func (s *groupStore) do(ctx context.Context, fn func(q *queries) error) error {
	r := &request{done: make(chan error, 1), ctx: ctx, direct: fn}
	if err := s.enqueue(ctx, r); err != nil {
		return err
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, abandoned) {
			return notStarted(ctx.Err())
		}
		// Taken: fn checks ctx before each statement, so the batch ends
		// soon, and its outcome is the one to report.
		return <-r.done
	}
}

// enqueue adds r to the writer's queue and wakes the writer.
func (s *groupStore) enqueue(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return notStarted(err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	s.queue = append(s.queue, r)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // the writer has a wake-up pending already
	}
	return nil
}

// notStarted wraps the error of a ctx that ended before fn ran.
func notStarted(err error) error {
	return fmt.Errorf("store: transaction not started: %w", err)
}

// run is the writer: it commits batches of the queue until Close, and then
// the requests queued before Close.
//
// Before it takes a batch, the writer yields the processor once: the
// goroutines ready to run, such as handlers about to queue their write, go
// first, so that a busy store commits more writes per fsync and fewer
// times. When nothing else is ready, the yield returns at once.
func (s *groupStore) run() {
	defer close(s.stopped)
	for {
		runtime.Gosched()
		batch, closed := s.next()
		switch {
		case len(batch) > 0:
			s.commit(batch)
		case closed:
			return
		default:
			<-s.wake
		}
	}
}

// next takes up to maxBatch requests from the queue, and tells whether the
// store is closed.
func (s *groupStore) next() ([]*request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	batch := s.queue
	if len(batch) > maxBatch {
		batch, s.queue = batch[:maxBatch:maxBatch], batch[maxBatch:]
	} else {
		s.queue = nil
	}
	return batch, s.closed
}

// commit runs the batch in one transaction: each request in turn, then one
// COMMIT. A failure of the transaction itself fails the requests that ran
// and those still to run; a request whose fn failed only rolls back its
// savepoint.
func (s *groupStore) commit(batch []*request) {
	s.pruneStmts()
	// The writer's statements ignore cancellation: see turn.
	ctx := context.Background()
	_, err := s.conn.ExecContext(ctx, `BEGIN IMMEDIATE`)
	if err != nil {
		err = fmt.Errorf("store: begin transaction: %w", err)
	}
	began := err == nil

	var ran []*request
	for _, r := range batch {
		if !r.state.CompareAndSwap(queued, taken) {
			continue // its caller gave up waiting
		}
		switch {
		case err != nil && r.direct != nil:
			r.done <- err
			continue
		case err != nil:
			r.turn <- &turn{err: err}
			continue
		case r.direct != nil:
			r.fnErr, err = s.runDirect(r)
		default:
			r.turn <- &turn{s: s}
			err = <-s.ended
		}
		ran = append(ran, r)
	}

	if began && err == nil {
		if _, err = s.conn.ExecContext(ctx, `COMMIT`); err != nil {
			err = fmt.Errorf("store: commit transaction: %w", err)
		}
	}
	if began && err != nil {
		// SQLite ends the transaction itself on some errors, not on
		// others: a ROLLBACK with none open fails, harmlessly.
		_, _ = s.conn.ExecContext(ctx, `ROLLBACK`)
	}
	for _, r := range ran {
		if r.fnErr != nil {
			r.done <- r.fnErr // rolled back alone, whatever the batch did
			continue
		}
		r.done <- err
	}
}

// runDirect runs a direct request's fn in a savepoint on the writer's
// goroutine. It returns fn's error, and why the batch cannot commit.
func (s *groupStore) runDirect(r *request) (fnErr, batchErr error) {
	t := &turn{s: s}
	defer func() {
		if p := recover(); p != nil {
			fnErr = fmt.Errorf("store: transaction failed: panic: %v", p)
			batchErr = t.batchErr
		}
	}()
	return t.apply(r.ctx, s.d, r.direct)
}

// prepared returns the statement for query on the writer's connection,
// prepared the first time: SQLite takes longer to parse a short statement
// than to run it, and the writer runs one statement at a time.
func (s *groupStore) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmts[query] = st
	return st, nil
}

// pruneStmts closes the prepared statements if there are more than
// maxStmts. The writer calls it between batches, when no turn has rows
// open.
func (s *groupStore) pruneStmts() {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if len(s.stmts) <= maxStmts {
		return
	}
	for query, st := range s.stmts {
		_ = st.Close()
		delete(s.stmts, query)
	}
}

func (s *groupStore) Ping(ctx context.Context) error {
	if err := s.readDB.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.Name, err)
	}
	return nil
}

// Close runs the requests queued before it, stops the writer and closes
// the databases. It waits for a transaction's fn that is running, so fn
// must not call it.
func (s *groupStore) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
		<-s.stopped

		s.stmtMu.Lock()
		var err error
		for _, st := range s.stmts {
			err = errors.Join(err, st.Close())
		}
		s.stmtMu.Unlock()
		s.readPre.close()
		err = errors.Join(err, s.conn.Close(), s.writeDB.Close(), s.readDB.Close())
		if err != nil {
			s.closeErr = fmt.Errorf("store: close %s: %w", s.d.Name, err)
		}
	})
	return s.closeErr
}

// A turn is one request's use of the writer's connection. fn runs on the
// caller's goroutine, in a savepoint of the batch's transaction, while the
// writer waits for the turn to end.
//
// Statements in a turn run without the cancellation of their ctx: SQLite
// interrupts a statement when its ctx ends, and an interrupted write rolls
// back the whole transaction, with the other requests of the batch in it.
// A turn checks ctx before each statement instead.
type turn struct {
	err  error       // the batch failed before this turn: fn does not run
	s    *groupStore // the writer's store
	over atomic.Bool // fn has returned: its Queries refuse work
	// batchErr is set as the turn ends: nil, or why the batch cannot
	// commit.
	batchErr error
}

// run runs fn in a savepoint and hands the connection back to the writer.
// It returns fn's error, or why fn did not run. If fn panics, the savepoint
// rolls back and the panic goes on.
func (t *turn) run(ctx context.Context, d *Dialect, fn func(q *queries) error) error {
	if t.err != nil {
		return t.err
	}
	// ended tells the writer that the turn is over.
	defer func() { t.s.ended <- t.batchErr }()
	err, _ := t.apply(ctx, d, fn)
	return err
}

// apply runs fn in a savepoint of the batch's transaction. It returns fn's
// error, or why fn did not run, and why the batch cannot commit; the
// latter is also in t.batchErr, even if fn panics.
func (t *turn) apply(ctx context.Context, d *Dialect, fn func(q *queries) error) (err,
	batchErr error) {
	if err := ctx.Err(); err != nil {
		return notStarted(err), nil
	}
	if err := t.exec(`SAVEPOINT tx`); err != nil {
		t.batchErr = fmt.Errorf("store: begin transaction: %w", err)
		return t.batchErr, t.batchErr
	}

	returned := false
	defer func() {
		t.over.Store(true)
		t.batchErr = t.release(!returned || err != nil)
		batchErr = t.batchErr
	}()
	err = fn(&queries{q: t, d: d})
	returned = true
	return err, nil
}

// release ends the turn's savepoint, rolling it back first if undo.
func (t *turn) release(undo bool) error {
	if undo {
		if err := t.exec(`ROLLBACK TO tx`); err != nil {
			return fmt.Errorf("store: roll back transaction: %w", err)
		}
	}
	if err := t.exec(`RELEASE tx`); err != nil {
		return fmt.Errorf("store: end transaction: %w", err)
	}
	return nil
}

// exec runs one of the turn's own statements, whatever fn's ctx.
func (t *turn) exec(query string) error {
	st, err := t.s.prepared(context.Background(), query)
	if err == nil {
		_, err = st.Exec()
	}
	return err
}

// stmt returns the prepared statement for a query of fn, if it may run,
// and the context to run it with.
func (t *turn) stmt(ctx context.Context, query string) (*sql.Stmt, context.Context, error) {
	if t.over.Load() {
		return nil, nil, errTxOver
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ctx = context.WithoutCancel(ctx)
	st, err := t.s.prepared(ctx, query)
	return st, ctx, err
}

func (t *turn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result,
	error) {
	st, ctx, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (t *turn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows,
	error) {
	st, ctx, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (t *turn) QueryRowContext(ctx context.Context, query string, args ...any) scanner {
	st, ctx, err := t.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// errRow is a row that fails to scan with err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
