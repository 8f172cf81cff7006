// Package sqlstore implements [store.Store] on database/sql. The SQLite and
// PostgreSQL backends (packages store/sqlite and store/postgres) open the
// database, apply their embedded schema with [Migrate] and wrap it with
// [NewGroupCommit] and [New]; what differs between the two databases is in
// a [Dialect].
//
// Queries use $1-style placeholders, which both drivers bind by position.
// Times are BIGINT Unix microseconds in UTC, with 0 for the zero time, so a
// time at exactly the Unix epoch reads back as the zero time. Strings that are
// "" in a record are stored as "", not NULL, and empty byte slices read back
// as nil.
//
// Races between replicas are settled by the database: uniqueness by unique
// keys, claims and nonce consumption by a conditional UPDATE, registration
// by INSERT ... ON CONFLICT DO NOTHING. Each method is atomic without a
// transaction around it: most are one statement, and those that follow a
// write with a read read only to tell why the write changed nothing.
// RegisterDevices, which writes in chunks, and RecordAttestation, unless
// the database writes several tables in one statement
// ([Dialect].WritesInWith), open a transaction of their own when they are
// not called inside Tx.
//
// # Group commit
//
// A store from [New], for PostgreSQL, runs each method on a connection of
// its pool and each Tx in a transaction of the database; the server flushes
// concurrent commits together by itself. On SQLite one transaction writes
// at a time and each commit waits for an fsync, so a store from
// [NewGroupCommit] commits in groups: a writer goroutine owns one
// connection, takes the transactions waiting for it, up to 256, begins one
// transaction, runs each in a savepoint of it and commits them all with one
// COMMIT. Every Tx, and every write of the Store's own methods, is one of
// those. A Tx whose fn fails rolls back its savepoint only; if the COMMIT
// fails, every Tx of the batch whose fn succeeded fails with it. Reads
// outside Tx run on a pool of their own, concurrently with the writer.
//
// Inside Tx, callers must use only the Queries given to fn. The Store's own
// methods do not see the transaction's writes. On PostgreSQL a write may
// wait on the transaction's locks; with group commit a Tx or a write of the
// Store inside fn waits for fn to end, which is a deadlock until the inner
// call's context ends.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

// Dialect is what a backend tells the shared implementation about its
// database.
type Dialect struct {
	// Name names the database in errors, such as "sqlite".
	Name string
	// IsUniqueViolation reports whether err is the database refusing a
	// write because of a unique or primary key.
	IsUniqueViolation func(err error) bool
	// MigrationLock is run first in the migration transaction, so that
	// stores opening at once apply migrations one at a time. It is "" when
	// the transaction serialises them by itself.
	MigrationLock string
	// WritesInWith reports whether an INSERT, UPDATE or DELETE may be a
	// query of a WITH clause, so that two writes can be one statement.
	WritesInWith bool
	// ShareLock ends a SELECT whose rows must not change until the
	// transaction ends, such as " FOR SHARE"; "" where the database runs
	// one write transaction at a time.
	ShareLock string
}

// New returns a store on db, whose schema Migrate has set up. The store owns
// db: its Close closes db.
func New(db *sql.DB, d Dialect) store.Store {
	return &sqlStore{queries: queries{q: sqlQuerier{db}, d: &d, db: db}}
}

// sqlStore is a store.Store; its embedded queries run outside transactions.
type sqlStore struct {
	queries
}

// Tx runs fn in a transaction of the database. An error from fn is returned
// as it is.
func (s *sqlStore) Tx(ctx context.Context, fn func(q store.Queries) error) error {
	if fn == nil {
		return errors.New("store: transaction: nil function")
	}
	return runTx(ctx, s.db, s.d, func(q *queries) error { return fn(q) })
}

func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.d.Name, err)
	}
	return nil
}

func (s *sqlStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.d.Name, err)
	}
	return nil
}

// runTx runs fn in a transaction on db, rolling back if fn fails or panics.
func runTx(ctx context.Context, db *sql.DB, d *Dialect, fn func(q *queries) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin transaction: %w", err)
	}
	// After a commit this rollback does nothing.
	defer func() { _ = tx.Rollback() }()

	if err := fn(&queries{q: sqlQuerier{tx}, d: d}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit transaction: %w", err)
	}
	return nil
}

// querier runs statements: on a database or a transaction (sqlQuerier), or
// in a turn on the group commit writer's connection.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) scanner
}

// sqlQuerier adapts *sql.DB and *sql.Tx to querier.
type sqlQuerier struct {
	sqlRunner
}

// sqlRunner is what *sql.DB and *sql.Tx have in common.
type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s sqlQuerier) QueryRowContext(ctx context.Context, query string, args ...any) scanner {
	return s.sqlRunner.QueryRowContext(ctx, query, args...)
}

// queries implements store.Queries on a database or a transaction.
type queries struct {
	q  querier
	d  *Dialect
	db *sql.DB // the database when q is not a transaction, else nil
}

// fail wraps err with the operation it stopped, described by format and
// args. No rows becomes store.ErrNotFound and a unique violation
// store.ErrConflict.
func (q *queries) fail(err error, format string, args ...any) error {
	op := fmt.Sprintf(format, args...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: %s: %w", op, store.ErrNotFound)
	case q.d.IsUniqueViolation != nil && q.d.IsUniqueViolation(err):
		return fmt.Errorf("store: %s: %w", op, store.ErrConflict)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// failIf is fail for a non-nil err, else nil.
func (q *queries) failIf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return q.fail(err, format, args...)
}

// affected returns the rows a write changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// limit returns n, or def if n is 0.
func limit(n, def int) (int, error) {
	switch {
	case n < 0:
		return 0, fmt.Errorf("negative limit %d", n)
	case n == 0:
		return def, nil
	}
	return n, nil
}

// micros returns t as Unix microseconds, or 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// blob returns b, or an empty slice for nil, for NOT NULL columns.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// timeCol scans a column written by micros into a time.Time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("time column holds %T, not an integer", src)
	}
	*c.t = time.Time{}
	if v != 0 {
		*c.t = time.UnixMicro(v).UTC()
	}
	return nil
}

// bytesCol scans a byte column into a fresh slice, nil when it is empty.
type bytesCol struct{ b *[]byte }

func (c bytesCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.b = nil
	case []byte:
		*c.b = nil
		if len(v) > 0 {
			*c.b = append([]byte(nil), v...)
		}
	case string:
		*c.b = nil
		if v != "" {
			*c.b = []byte(v)
		}
	default:
		return fmt.Errorf("byte column holds %T", src)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// list runs a query and scans each row with scan.
func list[T any](ctx context.Context, q querier, scan func(scanner) (T, error),
	query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
