package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/sqlstore"
	"github.com/hallmark-project/hallmark/internal/store/storetest"
)

// defaultDSN is the server CI provides; HALLMARK_TEST_POSTGRES overrides it.
const defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func testDSN() string {
	if dsn := os.Getenv("HALLMARK_TEST_POSTGRES"); dsn != "" {
		return dsn
	}
	return defaultDSN
}

// redact returns dsn without its password, for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the HALLMARK_TEST_POSTGRES connection string"
}

// withSearchPath returns dsn with search_path set to schema.
func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("HALLMARK_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// connect returns a connection to the test server, closed when the test
// ends. It fails the test if the server does not answer: these tests do
// not skip.
func connect(t testing.TB) *sql.DB {
	t.Helper()
	dsn := testDSN()
	db, err := sql.Open("pgx/v5", dsn)
	if err != nil {
		t.Fatalf("HALLMARK_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("PostgreSQL at %s does not answer: %v\n"+
			"these tests need a server; set HALLMARK_TEST_POSTGRES to its URL", redact(dsn), err)
	}
	return db
}

// freshSchema creates an empty schema that is dropped when the test ends,
// and returns a connection string that uses it.
func freshSchema(t testing.TB) string {
	t.Helper()
	admin := connect(t)
	ctx := t.Context()
	schema := "hallmark_test_" + strings.ToLower(rand.Text())
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, testDSN(), schema)
}

func open(t testing.TB, dsn string) store.Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
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
	connect(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, freshSchema(t))
	})
}

// TestConcurrentOpen starts several replicas on a new schema at once: each
// opens, and the migrations run once.
func TestConcurrentOpen(t *testing.T) {
	dsn := freshSchema(t)
	const n = 4
	stores := make([]store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), dsn) })
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		t.Cleanup(func() { s.Close() })
	}

	db, err := sql.Open("pgx/v5", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, versions int
	err = db.QueryRowContext(t.Context(),
		`SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions)
	if err != nil {
		t.Fatal(err)
	}
	if rows != versions || rows == 0 {
		t.Errorf("schema_migrations has %d rows for %d versions", rows, versions)
	}
}

// TestClaimAcrossReplicas races claims of one device through two stores on
// one schema: one tenant gets it.
func TestClaimAcrossReplicas(t *testing.T) {
	dsn := freshSchema(t)
	replicas := []store.Store{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	at := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	if _, err := replicas[0].RegisterDevices(ctx, []string{"d-1"}, at); err != nil {
		t.Fatal(err)
	}

	const n = 16
	wins := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			wins[i], errs[i] = replicas[i%2].ClaimDevice(ctx, "d-1", fmt.Sprintf("t-%d", i), at)
		})
	}
	wg.Wait()

	winner := ""
	for i := range n {
		switch {
		case wins[i] && winner == "":
			winner = fmt.Sprintf("t-%d", i)
		case wins[i]:
			t.Errorf("t-%d and %s both claimed d-1", i, winner)
		case !errors.Is(errs[i], store.ErrConflict):
			t.Errorf("claim by t-%d: %v, want a conflict", i, errs[i])
		}
	}
	for _, r := range replicas {
		d, err := r.GetDevice(ctx, "d-1")
		if err != nil {
			t.Fatal(err)
		}
		if d.TenantID != winner || winner == "" {
			t.Errorf("d-1 belongs to %q, want the winner %q", d.TenantID, winner)
		}
	}
}

// TestUpgrade opens a database of the first schema, with a device in it:
// the device gains its attestation fields, zero until it attests.
func TestUpgrade(t *testing.T) {
	ctx := t.Context()
	dsn := freshSchema(t)
	db, err := sql.Open("pgx/v5", dsn)
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

	s := open(t, dsn)
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

// TestConsumeNonceAcrossReplicas races consumptions of one nonce through
// two stores on one schema, each with its own pool: one consumption wins.
func TestConsumeNonceAcrossReplicas(t *testing.T) {
	dsn := freshSchema(t)
	replicas := []store.Store{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	at := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)

	const rounds, racers = 10, 32
	for r := range rounds {
		value := fmt.Appendf(nil, "n-%d", r)
		n := store.Nonce{Value: value, DeviceID: "d-1", CreatedAt: at,
			ExpiresAt: at.Add(time.Minute)}
		if err := replicas[r%2].PutNonce(ctx, n); err != nil {
			t.Fatal(err)
		}

		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				_, errs[i] = replicas[i%2].ConsumeNonce(ctx, value, "d-1", at.Add(time.Second))
			})
		}
		wg.Wait()

		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("round %d: consumption %d: %v, want a conflict", r, i, err)
			}
		}
		if won != 1 {
			t.Errorf("round %d: %d consumptions won, want 1", r, won)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()

	tests := []struct {
		name string
		dsn  string
	}{
		{"empty", ""},
		{"malformed", "postgres://%zz"},
		{"unknown-sslmode", "postgres://postgres@127.0.0.1/test?sslmode=sometimes"},
		{"nobody-listening", "postgres://postgres@" + closed + "/test?sslmode=disable"},
		{"missing-schema", withSearchPath(t, testDSN(), "hallmark_test_does_not_exist")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(t.Context(), tc.dsn)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
		})
	}
}

func BenchmarkConsumeNonce(b *testing.B) {
	storetest.BenchConsumeNonce(b, open(b, freshSchema(b)))
}
