// Package pgtest gives tests an empty PostgreSQL schema of their own.
//
// Tests that need PostgreSQL call [Schema], which connects to the server
// named by HALLMARK_TEST_POSTGRES (default: the CI server at 127.0.0.1:5432,
// database test, trust authentication), creates a schema with a random name,
// drops it when the test ends, and returns a connection string whose
// search_path is that schema. A server that does not answer fails the test:
// Hallmark's tests never skip PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// DefaultDSN is the server CI provides.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DSN returns the test server's connection string.
func DSN() string {
	if dsn := os.Getenv("HALLMARK_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// Schema creates a fresh schema for the test and returns a connection string
// that uses it.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := DSN()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("HALLMARK_TEST_POSTGRES is not a URL: %v", err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("PostgreSQL at %s does not answer: %v (start it, or set "+
			"HALLMARK_TEST_POSTGRES; .ci/run starts it)", u.Redacted(), err)
	}

	b := make([]byte, 8)
	rand.Read(b)
	schema := "hallmark_test_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSearchPath(t, dsn, schema)
}

// WithSearchPath returns the connection string dsn with its search_path set
// to schema.
func WithSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("HALLMARK_TEST_POSTGRES is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
