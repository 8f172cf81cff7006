// Package postgres is the store backend for replicated deployments:
// [store.Store] on PostgreSQL, through pgx (github.com/jackc/pgx/v5) behind
// database/sql.
//
// [Open] takes a pgx connection string, as a URL
// (postgres://user:pass@host:5432/db?sslmode=verify-full) or as key=value
// pairs. Parameters pgx does not know go to the server as settings, so
// search_path=name puts the store's tables in the schema name, which must
// exist. Open connects, then applies the embedded schema migrations.
//
// Any number of replicas may share one database. Open takes a transaction
// advisory lock keyed on the schema, so replicas starting at once apply each
// migration once; the others wait and find the schema up to date. The
// store's invariants hold across replicas through the database's own
// locking: unique keys for names, serials, generations and tokens, and a
// conditional UPDATE for claims and for consuming nonces, all of which hold
// at READ COMMITTED, the server's default isolation. Each store's pool holds up to [MaxConns]
// connections.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx/v5" driver

	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/sqlstore"
)

// MaxConns is the size of each store's connection pool.
const MaxConns = 16

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLockKey is the first half of the advisory lock key that
// serialises migrations; the second half is a hash of the schema name.
const migrationLockKey = 0x484d // "HM"

var dialect = sqlstore.Dialect{
	Name:              "postgres",
	IsUniqueViolation: isUniqueViolation,
	MigrationLock: fmt.Sprintf(
		`SELECT pg_advisory_xact_lock(%d, hashtext(coalesce(current_schema(), '')))`,
		migrationLockKey),
	WritesInWith: true,
	ShareLock:    " FOR SHARE",
}

// Open connects to the PostgreSQL database that dsn names and brings its
// schema up to date.
func Open(ctx context.Context, dsn string) (store.Store, error) {
	if dsn == "" {
		return nil, errors.New("store: open postgres: empty connection string")
	}
	// The connection string stays out of errors: it may hold a password.
	db, err := sql.Open("pgx/v5", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}

	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open postgres: %w", err)
	}
	if err := sqlstore.Migrate(ctx, db, dialect, sub); err != nil {
		_ = db.Close()
		return nil, err
	}
	return sqlstore.New(db, dialect), nil
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
