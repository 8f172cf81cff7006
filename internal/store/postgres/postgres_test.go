package postgres

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/pgtest"
	"github.com/hallmark-project/hallmark/internal/store/sqlstore"
	"github.com/hallmark-project/hallmark/internal/store/storetest"
)

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
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, pgtest.Schema(t))
	})
}

// TestConcurrentOpen starts several replicas on a new schema at once: each
// opens, and the migrations run once.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.Schema(t)
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
	dsn := pgtest.Schema(t)
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
	dsn := pgtest.Schema(t)
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
	dsn := pgtest.Schema(t)
	replicas := []store.Store{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	at := time.Date(2025, 3, 14, 0, 0, 0, 0, time.UTC)
	if _, err := replicas[0].RegisterDevices(ctx, []string{"d-1"}, at); err != nil {
		t.Fatal(err)
	}

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
		{"missing-schema", pgtest.WithSearchPath(t, pgtest.DSN(), "hallmark_test_does_not_exist")},
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
	storetest.BenchConsumeNonce(b, open(b, pgtest.Schema(b)))
}

// BenchmarkAttestation runs one attestation's store work per op; see
// storetest.BenchAttestation.
func BenchmarkAttestation(b *testing.B) {
	storetest.BenchAttestation(b, open(b, pgtest.Schema(b)))
}
