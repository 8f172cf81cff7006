package sqlite

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/sqlstore"
	"github.com/hallmark-project/hallmark/internal/store/storetest"
)

func open(t testing.TB, path string) store.Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "hallmark.db"))
	})
}

func TestOpenCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "db")
	path := filepath.Join(dir, "hallmark.db")
	open(t, path)

	tests := []struct {
		name string
		path string
		mode os.FileMode
	}{
		{"directory", dir, os.ModeDir | 0o700},
		{"file", path, 0o600},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := os.Stat(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != tc.mode {
				t.Errorf("mode %v, want %v", fi.Mode(), tc.mode)
			}
		})
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hallmark.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ten := store.Tenant{ID: "t-a", Name: "acme"}
	if err := s.CreateTenant(ctx, ten); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	if _, err := s.GetTenant(ctx, "t-a"); err != nil {
		t.Errorf("tenant lost on reopen: %v", err)
	}
	if got, want := appliedMigrations(t, path), embeddedMigrations(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d", got, want)
	}
}

// embeddedMigrations counts the migrations Open applies.
func embeddedMigrations(t *testing.T) int {
	t.Helper()
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("embedded migrations: %v, %d files", err, len(names))
	}
	return len(names)
}

// TestUpgrade opens a database of the first schema, with a device in it:
// the device gains its attestation fields, zero until it attests.
func TestUpgrade(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hallmark.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	first, err := fs.ReadFile(migrations, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	err = sqlstore.Migrate(ctx, db, dialect, fstest.MapFS{"0001_init.sql": {Data: first}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO devices (id, registered_at, tenant_id, claimed_at)
		VALUES ('d-1', 1000000, 't-a', 2000000)`)
	if err != nil {
		t.Fatal(err)
	}

	s := open(t, path)
	got, err := s.GetDevice(ctx, "d-1")
	if err != nil {
		t.Fatal(err)
	}
	want := store.Device{ID: "d-1", RegisteredAt: time.Unix(1, 0).UTC(), TenantID: "t-a",
		ClaimedAt: time.Unix(2, 0).UTC()}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("device after upgrade (-want +got):\n%s", d)
	}
	err = s.PutIssuance(ctx, store.Issuance{TenantID: "t-a", DeviceID: "d-1",
		Serial: []byte{1}, CreatedAt: time.Unix(3, 0)})
	if err != nil {
		t.Errorf("issuance for an upgraded device: %v", err)
	}
}

// appliedMigrations counts the rows of schema_migrations in the file.
func appliedMigrations(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "plain-file")
	garbage := filepath.Join(dir, "garbage.db")
	for _, p := range []string{notDir, garbage} {
		if err := os.WriteFile(p, []byte("this is not a sqlite database, not at all"),
			0o600); err != nil {
			t.Fatal(err)
		}
	}
	newer := filepath.Join(dir, "newer.db")
	open(t, newer)
	db, err := sql.Open("sqlite", newer)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_, err = db.Exec(`INSERT INTO schema_migrations (version, name) VALUES (9999, 'x.sql')`)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		path string
	}{
		{"empty-path", ""},
		{"parent-is-a-file", filepath.Join(notDir, "hallmark.db")},
		{"path-is-a-directory", dir},
		{"not-a-database", garbage},
		{"newer-schema", newer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.path)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
		})
	}
}

// TestPathCharacters opens files whose names hold characters that mean
// something in a URI.
func TestPathCharacters(t *testing.T) {
	for _, name := range []string{"a?b.db", "a#b.db", "a%20b.db", "a b.db", "a&_pragma=x.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			s := open(t, path)
			if err := s.PutMeta(t.Context(), "k", "v"); err != nil {
				t.Fatal(err)
			}
			entries, err := os.ReadDir(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != name && e.Name() != name+"-wal" && e.Name() != name+"-shm" {
					t.Errorf("unexpected file %q", e.Name())
				}
			}
		})
	}
}

// TestSharedFile runs two stores on one file, as two processes would: they
// open at once, and a device goes to one tenant only.
func TestSharedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hallmark.db")
	stores := make([]store.Store, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), path) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		t.Cleanup(func() { s.Close() })
	}
	if got, want := appliedMigrations(t, path), embeddedMigrations(t); got != want {
		t.Errorf("schema_migrations has %d rows, want %d", got, want)
	}

	ctx := t.Context()
	at := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	if _, err := stores[0].RegisterDevices(ctx, []string{"d-1"}, at); err != nil {
		t.Fatal(err)
	}
	const n = 8
	wins := make([]bool, n)
	errs = make([]error, n)
	for i := range n {
		wg.Go(func() {
			wins[i], errs[i] = stores[i%2].ClaimDevice(ctx, "d-1", fmt.Sprintf("t-%d", i), at)
		})
	}
	wg.Wait()
	won := 0
	for i := range n {
		switch {
		case wins[i]:
			won++
		case !errors.Is(errs[i], store.ErrConflict):
			t.Errorf("claim %d: %v, want a conflict", i, errs[i])
		}
	}
	if won != 1 {
		t.Errorf("%d claims won, want 1", won)
	}
}

func BenchmarkConsumeNonce(b *testing.B) {
	storetest.BenchConsumeNonce(b, open(b, filepath.Join(b.TempDir(), "hallmark.db")))
}

// BenchmarkParallelNonces runs the store's part of a challenge and an
// attestation, PutNonce then ConsumeNonce, from 32 clients per CPU, as the
// DAA service's concurrent requests do. The file is in the test's temporary
// directory, which must be on a durable disk, not tmpfs, for the numbers to
// mean anything.
func BenchmarkParallelNonces(b *testing.B) {
	s := withDevices(b, open(b, filepath.Join(b.TempDir(), "hallmark.db")))
	ctx := b.Context()
	now := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	var last atomic.Uint64
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v := binary.BigEndian.AppendUint64(make([]byte, 24, 32), last.Add(1))
			n := store.Nonce{Value: v, DeviceID: "d-1", CreatedAt: now,
				ExpiresAt: now.Add(time.Minute)}
			if err := s.PutNonce(ctx, n); err != nil {
				b.Error(err)
				return
			}
			if _, err := s.ConsumeNonce(ctx, v, "d-1", now); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkAttestation runs one attestation's store work per op; see
// storetest.BenchAttestation.
func BenchmarkAttestation(b *testing.B) {
	storetest.BenchAttestation(b, open(b, filepath.Join(b.TempDir(), "hallmark.db")))
}
