package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// migration is one schema change, from a file named like 0001_init.sql.
type migration struct {
	version int64
	name    string
	sql     string
}

// Migrate brings the schema of db up to date with the migrations in fsys:
// the .sql files at its root, named by a version number, an underscore and
// a name (0001_init.sql). It applies those whose version the
// schema_migrations table lacks, in order of version, in one transaction,
// and records them there. It refuses a database that has a version fsys
// lacks, as written by a newer release.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, fsys fs.FS) error {
	ms, err := readMigrations(fsys)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", d.Name, err)
	}
	err = runTx(ctx, db, &d, func(q *queries) error {
		return migrate(ctx, q.q, d, ms)
	})
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", d.Name, err)
	}
	return nil
}

func migrate(ctx context.Context, q querier, d Dialect, ms []migration) error {
	if d.MigrationLock != "" {
		if _, err := q.ExecContext(ctx, d.MigrationLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
	}
	_, err := q.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY,
		name TEXT NOT NULL
	)`)
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}

	applied, err := list(ctx, q, func(s scanner) (v int64, err error) {
		return v, s.Scan(&v)
	}, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, v := range applied {
		if !slices.ContainsFunc(ms, func(m migration) bool { return m.version == v }) {
			return fmt.Errorf("database has schema version %d, unknown to this release", v)
		}
	}

	for _, m := range ms {
		if slices.Contains(applied, m.version) {
			continue
		}
		if _, err := q.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("apply %s: %w", m.name, err)
		}
		_, err := q.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name)
		if err != nil {
			return fmt.Errorf("record %s: %w", m.name, err)
		}
	}
	return nil
}

// readMigrations reads the migrations in fsys, sorted by version.
func readMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("no migrations")
	}

	var ms []migration
	for _, name := range names {
		num, _, ok := strings.Cut(strings.TrimSuffix(name, path.Ext(name)), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name does not start with a version", name)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}

	slices.SortFunc(ms, func(a, b migration) int { return cmp.Compare(a.version, b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s have one version",
				ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}
