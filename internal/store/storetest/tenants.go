package storetest

import (
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

func testPing(t *testing.T, s store.Store) {
	mustOK(t, s.Ping(t.Context()))
}

func testMeta(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetMeta(ctx, "kek-check")
	wantErr(t, err, store.ErrNotFound)

	mustOK(t, s.PutMeta(ctx, "kek-check", "v1"))
	wantErr(t, s.PutMeta(ctx, "kek-check", "v2"), store.ErrConflict)
	got, err := s.GetMeta(ctx, "kek-check")
	mustOK(t, err)
	wantDiff(t, "v1", got)
}

func testTenants(t *testing.T, s store.Store) {
	ctx := t.Context()
	// IDs sort the other way from names, to show the list is by name.
	acme := store.Tenant{ID: "t-b", Name: "acme", CreatedAt: t0}
	zeta := store.Tenant{ID: "t-a", Name: "zeta", CreatedAt: t0.Add(time.Hour)}
	mustOK(t, s.CreateTenant(ctx, zeta))
	mustOK(t, s.CreateTenant(ctx, acme))

	got, err := s.GetTenant(ctx, "t-b")
	mustOK(t, err)
	wantDiff(t, acme, got)
	all, err := s.ListTenants(ctx)
	mustOK(t, err)
	wantDiff(t, []store.Tenant{acme, zeta}, all)

	tests := []struct {
		name   string
		tenant store.Tenant
	}{
		{"id-taken", store.Tenant{ID: "t-b", Name: "other", CreatedAt: t0}},
		{"name-taken", store.Tenant{ID: "t-c", Name: "acme", CreatedAt: t0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.CreateTenant(ctx, tc.tenant), store.ErrConflict)
		})
	}

	_, err = s.GetTenant(ctx, "t-missing")
	wantErr(t, err, store.ErrNotFound)
	all, err = s.ListTenants(ctx)
	mustOK(t, err)
	if len(all) != 2 {
		t.Errorf("ListTenants returned %d tenants after refused writes, want 2", len(all))
	}
}

func testKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	k := store.Key{
		ID:        "k-1",
		Backend:   "sealed",
		Ref:       []byte("sealed key bytes"),
		Public:    []byte{0x30, 0x59, 0x30, 0x13},
		CreatedAt: t0,
	}
	mustOK(t, s.PutKey(ctx, k))
	got, err := s.GetKey(ctx, "k-1")
	mustOK(t, err)
	wantDiff(t, k, got)

	// An empty reference reads back as nil.
	bare := store.Key{ID: "k-2", Backend: "pkcs11", Ref: []byte{}, CreatedAt: t0}
	mustOK(t, s.PutKey(ctx, bare))
	got, err = s.GetKey(ctx, "k-2")
	mustOK(t, err)
	wantDiff(t, store.Key{ID: "k-2", Backend: "pkcs11", CreatedAt: t0}, got)

	wantErr(t, s.PutKey(ctx, store.Key{ID: "k-1", Backend: "pkcs11"}), store.ErrConflict)
	_, err = s.GetKey(ctx, "k-missing")
	wantErr(t, err, store.ErrNotFound)
}

// testTimes checks that times come back as the same instant in UTC,
// truncated to microseconds, and that zero times stay zero.
func testTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	nonceDevices(t, s)
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"utc", t0, t0},
		{"other-zone", t0.In(zone), t0},
		{"nanoseconds", t0.Add(999 * time.Nanosecond), t0},
		{"zero", time.Time{}, time.Time{}},
		{"before-1970", time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC),
			time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)},
		{"far-future", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := store.Token{
				ID: "tok-" + tc.name, Hash: []byte(tc.name), Role: store.RoleOperator,
				CreatedAt: tc.in, ExpiresAt: tc.in,
			}
			mustOK(t, s.PutToken(ctx, tok))
			got, err := s.GetToken(ctx, tok.ID)
			mustOK(t, err)

			for _, g := range []time.Time{got.CreatedAt, got.ExpiresAt} {
				if !g.Equal(tc.want) || g.IsZero() != tc.want.IsZero() {
					t.Errorf("read back %v, want %v", g, tc.want)
				}
				if !g.IsZero() && g.Location() != time.UTC {
					t.Errorf("read back a time in %v, want UTC", g.Location())
				}
			}
			if !got.RevokedAt.IsZero() {
				t.Errorf("RevokedAt = %v, want the zero time", got.RevokedAt)
			}
		})
	}
}
