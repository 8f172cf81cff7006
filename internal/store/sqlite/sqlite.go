// Package sqlite is the embedded store backend: [store.Store] on a SQLite
// file, through the pure-Go driver modernc.org/sqlite.
//
// [Open] takes a file path. It creates the parent directory (mode 0700) and
// the file (mode 0600) if they are missing, and applies the embedded schema
// migrations, so a new path gives a ready, empty store and an existing one
// keeps its data.
//
// The database runs in WAL mode with synchronous=FULL: readers do not
// block the writer, and a commit is on disk before it returns, so an issued
// certificate or a consumed nonce survives a power loss once the store has
// answered.
//
// Each connection maps up to 256 MiB of the file (mmap_size), so reads of
// pages already on disk copy nothing, and keeps a 16 MiB page cache.
// Temporary data, such as the journal that lets one savepoint of a batch
// roll back alone, stays in memory (temp_store=MEMORY): a batch's
// savepoints would otherwise spill that journal to a temporary file, page
// by page.
//
// A commit costs one fsync, and SQLite writes one transaction at a time, so
// the store commits in groups: one connection, owned by a writer goroutine
// (see [sqlstore.NewGroupCommit]), runs every write transaction. The writer
// begins a transaction IMMEDIATE, runs each waiting Store.Tx in a savepoint
// of it, up to 256, and commits them with one COMMIT; a Tx that fails rolls
// back its savepoint only. The Store's own write methods are transactions
// of the writer too. Reads outside Tx run on a separate pool of up to
// [MaxConns] connections that refuse writes, concurrently with the writer.
// Several processes may open the same file on one machine (not over a
// network file system): their writers take the write lock in turn, waiting
// up to [BusyTimeout] for it, and the claim and uniqueness rules hold
// across them, as within one.
//
// fn in Store.Tx runs on the caller's goroutine while the writer waits for
// it, so a slow fn holds up every write. Inside fn, callers must use only
// the Queries they are given: Store.Tx, or a write through the Store
// itself, waits for the writer, which waits for fn, until the call's
// context ends. A read through the Store does not see the transaction's
// writes.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/sqlstore"
)

// BusyTimeout is how long a connection waits for the write lock.
const BusyTimeout = 10 * time.Second

// MaxConns is the size of the pool for reads. Writes have a connection of
// their own.
const MaxConns = 8

//go:embed migrations/*.sql
var migrations embed.FS

// dialect needs no migration lock: with _txlock=immediate the migration
// transaction holds the write lock from its start.
var dialect = sqlstore.Dialect{
	Name:              "sqlite",
	IsUniqueViolation: isUniqueViolation,
}

// Open opens the SQLite database at path, creating it if it is missing.
func Open(ctx context.Context, path string) (store.Store, error) {
	if path == "" {
		return nil, errors.New("store: open sqlite: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	// Create the file here rather than in SQLite, to choose its mode; the
	// WAL files SQLite adds take the same mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}

	write, err := openDB(ctx, abs, false, 1)
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	if err := sqlstore.Migrate(ctx, write, dialect, sub); err != nil {
		_ = write.Close()
		return nil, err
	}

	read, err := openDB(ctx, abs, true, MaxConns)
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	s, err := sqlstore.NewGroupCommit(ctx, read, write, dialect)
	if err != nil {
		_ = read.Close()
		_ = write.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens a pool of up to n connections to the database file at the
// absolute path abs, refusing writes if readOnly.
func openDB(ctx context.Context, abs string, readOnly bool, n int) (*sql.DB, error) {
	db, err := sql.Open("sqlite", dsn(abs, readOnly))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", abs, err)
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	// A new connection switches the file to WAL. When another process does
	// the same at that moment, SQLite may answer busy without waiting on its
	// busy handler, so try again for up to BusyTimeout.
	deadline := time.Now().Add(BusyTimeout)
	for {
		err = db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-time.After(10 * time.Millisecond):
			continue
		}
		break
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", abs, err)
	}
	return db, nil
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// dsn returns the driver's name for the database file at the absolute path
// abs, as a file: URI, so that no character of the path is taken for part
// of the query. Its connections refuse writes if readOnly; else they begin
// transactions IMMEDIATE.
func dsn(abs string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "mmap_size(268435456)")
	q.Add("_pragma", "cache_size(-16384)")
	q.Add("_pragma", "temp_store(MEMORY)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return true
	}
	return false
}
