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
// certificate or a consumed nonce survives a power loss. Every transaction
// begins IMMEDIATE, taking the write lock at once, so two transactions
// never deadlock upgrading from read to write; writers queue for up to
// [BusyTimeout] before failing with a busy error. The pool holds up to
// [MaxConns] connections. Several processes may open the same file on one
// machine (not over a network file system); the claim and uniqueness rules
// hold across them, as within one.
//
// A Store.Tx holds the write lock until it ends, so code inside Tx must use
// the Queries it is given: a write through the Store itself waits for
// BusyTimeout and fails, and a read does not see the transaction's writes.
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

// MaxConns is the size of the connection pool.
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

	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite %s: %w", abs, err)
	}
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open sqlite %s: %w", abs, err)
	}

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	if err := sqlstore.Migrate(ctx, db, dialect, sub); err != nil {
		_ = db.Close()
		return nil, err
	}
	return sqlstore.New(db, dialect), nil
}

// dsn returns the driver's name for the database file at the absolute path
// abs, as a file: URI, so that no character of the path is taken for part
// of the query.
func dsn(abs string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
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
