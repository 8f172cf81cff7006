package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

func testCatalogues(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.LatestCatalogue(ctx)
	wantErr(t, err, store.ErrNotFound)

	cat := func(v int64) store.Catalogue {
		return store.Catalogue{Version: v, Document: fmt.Appendf(nil, `{"version":%d}`, v),
			CreatedAt: t0.Add(time.Duration(v) * time.Hour), TokenID: "tok-operator"}
	}
	// Version 3 goes in before 2, to show that the latest is by version.
	for _, v := range []int64{1, 3, 2} {
		mustOK(t, s.PutCatalogue(ctx, cat(v)))
	}
	got, err := s.LatestCatalogue(ctx)
	mustOK(t, err)
	wantDiff(t, cat(3), got)

	tests := []struct {
		name string
		cat  store.Catalogue
		err  error
	}{
		{"version-taken", cat(2), store.ErrConflict},
		{"version-zero", cat(0), errInvalid},
		{"version-negative", cat(-1), errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.PutCatalogue(ctx, tc.cat), tc.err)
		})
	}
	got, err = s.LatestCatalogue(ctx)
	mustOK(t, err)
	wantDiff(t, cat(3), got)
}

// testAttestationTimes checks the round trip of the times of nonces,
// catalogues, issuances and the device's last attestation.
func testAttestationTimes(t *testing.T, s store.Store) {
	ctx := t.Context()
	attestedDevices(t, s)
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"utc", t0, t0},
		{"other-zone", t0.In(zone), t0},
		{"nanoseconds", t0.Add(999 * time.Nanosecond), t0},
		{"before-1970", time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC),
			time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)},
		{"far-future", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			mustOK(t, s.PutNonce(ctx, store.Nonce{Value: []byte(tc.name), DeviceID: "d-1",
				CreatedAt: in, ExpiresAt: in, ConsumedAt: in}))
			// Another device's consumption is refused and reads the nonce.
			nonce, err := s.ConsumeNonce(ctx, []byte(tc.name), "d-2", t0)
			wantErr(t, err, store.ErrConflict)

			mustOK(t, s.PutCatalogue(ctx, store.Catalogue{Version: int64(n + 1),
				CreatedAt: in}))
			cat, err := s.LatestCatalogue(ctx)
			mustOK(t, err)

			mustOK(t, s.PutIssuance(ctx, store.Issuance{TenantID: "t-a", DeviceID: "d-1",
				Serial: []byte{byte(n + 1)}, NotBefore: in, NotAfter: in, CreatedAt: in}))
			is, err := s.ListIssuances(ctx, store.IssuanceFilter{Limit: 1})
			mustOK(t, err)
			if len(is) != 1 {
				t.Fatalf("ListIssuances returned %d issuances, want 1", len(is))
			}
			d, err := s.GetDevice(ctx, "d-1")
			mustOK(t, err)

			for _, g := range []time.Time{nonce.CreatedAt, nonce.ExpiresAt, nonce.ConsumedAt,
				cat.CreatedAt, is[0].NotBefore, is[0].NotAfter, is[0].CreatedAt,
				d.LastAttestedAt, d.CertNotAfter} {
				if !g.Equal(tc.want) || g.Location() != time.UTC {
					t.Errorf("read back %v, want %v in UTC", g, tc.want)
				}
			}
		})
	}
}
