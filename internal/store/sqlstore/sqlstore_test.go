package sqlstore_test

import (
	"database/sql"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"

	"github.com/hallmark-project/hallmark/internal/store/sqlstore"
)

// The tests here run on SQLite; package store/postgres runs Migrate on
// PostgreSQL, and both backends run the conformance suite.

var dialect = sqlstore.Dialect{
	Name:              "sqlite",
	IsUniqueViolation: func(error) bool { return false },
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestPlaceholders checks what the queries rely on: the SQLite driver binds
// $n to the n-th argument, in any order and any number of times.
func TestPlaceholders(t *testing.T) {
	var a, b, c string
	err := openDB(t).QueryRow(`SELECT $2, $1, $2 || $1`, "one", "two").Scan(&a, &b, &c)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"two", "one", "twoone"}, []string{a, b, c}); d != "" {
		t.Errorf("mismatch (-want +got):\n%s", d)
	}
}

// tables returns the names of the tables in db.
func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT name FROM sqlite_schema
		WHERE type = 'table' AND name <> 'sqlite_sequence'
		ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func TestMigrate(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	// Version 10 needs version 2: they must run in numeric order, not in
	// the order of their names.
	v2 := &fstest.MapFile{Data: []byte(`CREATE TABLE a (x INTEGER);
		CREATE TABLE b (y INTEGER);`)}
	v10 := &fstest.MapFile{Data: []byte(`ALTER TABLE a ADD COLUMN z INTEGER;`)}
	first := fstest.MapFS{"0002_first.sql": v2, "0010_second.sql": v10}
	if err := sqlstore.Migrate(ctx, db, dialect, first); err != nil {
		t.Fatal(err)
	}
	// Applied migrations do not run again: creating a again would fail.
	if err := sqlstore.Migrate(ctx, db, dialect, first); err != nil {
		t.Fatalf("second run: %v", err)
	}

	more := fstest.MapFS{"0002_first.sql": v2, "0010_second.sql": v10,
		"0011_third.sql": &fstest.MapFile{Data: []byte(`CREATE TABLE c (z INTEGER);`)}}
	if err := sqlstore.Migrate(ctx, db, dialect, more); err != nil {
		t.Fatalf("new migration: %v", err)
	}
	if d := cmp.Diff([]string{"a", "b", "c", "schema_migrations"}, tables(t, db)); d != "" {
		t.Errorf("tables (-want +got):\n%s", d)
	}
	if _, err := db.Exec(`INSERT INTO a (x, z) VALUES (1, 2)`); err != nil {
		t.Errorf("migration 10 did not run: %v", err)
	}
}

func TestMigrateErrors(t *testing.T) {
	ok := &fstest.MapFile{Data: []byte(`CREATE TABLE a (x INTEGER);`)}
	tests := []struct {
		name    string
		dialect sqlstore.Dialect
		fsys    fstest.MapFS
	}{
		{"no-migrations", dialect, fstest.MapFS{"README": ok}},
		{"no-version", dialect, fstest.MapFS{"init.sql": ok}},
		{"version-zero", dialect, fstest.MapFS{"0000_init.sql": ok}},
		{"no-underscore", dialect, fstest.MapFS{"0001.sql": ok}},
		{"same-version", dialect, fstest.MapFS{"0001_a.sql": ok, "01_b.sql": ok}},
		{"bad-sql", dialect, fstest.MapFS{"0001_a.sql": ok,
			"0002_b.sql": &fstest.MapFile{Data: []byte(`CREATE TABLE (`)}}},
		{"lock-fails", sqlstore.Dialect{Name: "sqlite", MigrationLock: `SELECT no_such_fn()`},
			fstest.MapFS{"0001_a.sql": ok}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			if err := sqlstore.Migrate(t.Context(), db, tc.dialect, tc.fsys); err == nil {
				t.Fatal("Migrate succeeded, want an error")
			}
			// Nothing of a failed run stays behind.
			if got := tables(t, db); len(got) != 0 {
				t.Errorf("tables %v left after a failed migration", got)
			}
		})
	}
}

// TestMigrateNewerDatabase refuses a database migrated by a newer release.
func TestMigrateNewerDatabase(t *testing.T) {
	ctx := t.Context()
	db := openDB(t)
	newer := fstest.MapFS{
		"0001_a.sql": &fstest.MapFile{Data: []byte(`CREATE TABLE a (x INTEGER);`)},
		"0002_b.sql": &fstest.MapFile{Data: []byte(`CREATE TABLE b (x INTEGER);`)},
	}
	if err := sqlstore.Migrate(ctx, db, dialect, newer); err != nil {
		t.Fatal(err)
	}
	delete(newer, "0002_b.sql")
	if err := sqlstore.Migrate(ctx, db, dialect, newer); err == nil {
		t.Error("Migrate accepted a database with an unknown version")
	}
}
