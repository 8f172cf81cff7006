package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hallmark-project/hallmark/internal/store"
)

// attestedDevices registers d-1 to d-4 and claims d-1 and d-2 for tenant
// t-a and d-3 for t-b; d-4 stays unclaimed.
func attestedDevices(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	_, err := s.RegisterDevices(ctx, []string{"d-1", "d-2", "d-3", "d-4"}, t0)
	mustOK(t, err)
	for id, tenant := range map[string]string{"d-1": "t-a", "d-2": "t-a", "d-3": "t-b"} {
		_, err := s.ClaimDevice(ctx, id, tenant, t0)
		mustOK(t, err)
	}
}

// newIssuance returns an issuance for the device, numbered n: its serial,
// times and catalogue version follow from n.
func newIssuance(tenant, device string, n int) store.Issuance {
	at := t0.Add(time.Duration(n) * time.Hour)
	return store.Issuance{
		IssuerID:         "ca-" + tenant,
		Serial:           []byte{0x01, byte(n)},
		TenantID:         tenant,
		DeviceID:         device,
		NotBefore:        at,
		NotAfter:         at.Add(24 * time.Hour),
		CertDigest:       []byte{0xce, byte(n)},
		EvidenceDigest:   []byte{0xe7, byte(n)},
		Verdict:          "affirming",
		CatalogueVersion: int64(n),
		Software:         fmt.Sprintf(`[{"name":"fw","version":"1.%d"}]`, n),
		CreatedAt:        at,
	}
}

// attested returns the device record after the issuance.
func attested(tenant, device string, i store.Issuance) store.Device {
	return store.Device{ID: device, RegisteredAt: t0, TenantID: tenant, ClaimedAt: t0,
		LastAttestedAt: i.CreatedAt, LastVerdict: i.Verdict, LastSoftware: i.Software,
		CertNotAfter: i.NotAfter}
}

var ignoreSeq = cmpopts.IgnoreFields(store.Issuance{}, "Seq")

func testPutIssuance(t *testing.T, s store.Store) {
	ctx := t.Context()
	attestedDevices(t, s)
	first, second := newIssuance("t-a", "d-1", 1), newIssuance("t-a", "d-1", 2)
	second.Verdict = "warning"
	mustOK(t, s.PutIssuance(ctx, first))
	mustOK(t, s.PutIssuance(ctx, second))

	// The second attestation is the device's last; other devices have none.
	got, err := s.GetDevice(ctx, "d-1")
	mustOK(t, err)
	wantDiff(t, attested("t-a", "d-1", second), got)
	list, err := s.ListDevices(ctx, store.DeviceFilter{TenantID: "t-a"})
	mustOK(t, err)
	wantDiff(t, []store.Device{attested("t-a", "d-1", second),
		{ID: "d-2", RegisteredAt: t0, TenantID: "t-a", ClaimedAt: t0}}, list)

	bad := func(tenant, device string, edit func(i *store.Issuance)) store.Issuance {
		i := newIssuance(tenant, device, 9)
		if edit != nil {
			edit(&i)
		}
		return i
	}
	tests := []struct {
		name string
		i    store.Issuance
		err  error
	}{
		{"unknown-device", bad("t-a", "d-9", nil), store.ErrNotFound},
		{"other-tenants-device", bad("t-a", "d-3", nil), store.ErrNotFound},
		{"unclaimed-device", bad("t-a", "d-4", nil), store.ErrNotFound},
		{"empty-device", bad("t-a", "", nil), errInvalid},
		{"empty-tenant", bad("", "d-4", nil), errInvalid},
		{"empty-serial", bad("t-a", "d-2", func(i *store.Issuance) { i.Serial = nil }),
			errInvalid},
		{"zero-time", bad("t-a", "d-2", func(i *store.Issuance) {
			i.CreatedAt = time.Time{}
		}), errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.PutIssuance(ctx, tc.i), tc.err)
		})
	}

	// The refused issuances left no record and no device changed.
	is, err := s.ListIssuances(ctx, store.IssuanceFilter{})
	mustOK(t, err)
	wantDiff(t, []store.Issuance{second, first}, is, ignoreSeq)
	all, err := s.ListDevices(ctx, store.DeviceFilter{})
	mustOK(t, err)
	wantDiff(t, []store.Device{
		attested("t-a", "d-1", second),
		{ID: "d-2", RegisteredAt: t0, TenantID: "t-a", ClaimedAt: t0},
		{ID: "d-3", RegisteredAt: t0, TenantID: "t-b", ClaimedAt: t0},
		{ID: "d-4", RegisteredAt: t0},
	}, all)
}

// testIssuanceTx records issuances as the DAA does, with the certificate in
// one transaction, and checks that a failed one leaves nothing behind.
func testIssuanceTx(t *testing.T, s store.Store) {
	ctx := t.Context()
	attestedDevices(t, s)
	issue := func(q store.Queries, i store.Issuance) error {
		c := newCert(i.IssuerID, i.Serial, i.DeviceID, i.NotAfter)
		if err := q.PutCert(ctx, c); err != nil {
			return err
		}
		return q.PutIssuance(ctx, i)
	}
	ok := newIssuance("t-a", "d-1", 1)
	mustOK(t, s.Tx(ctx, func(q store.Queries) error { return issue(q, ok) }))

	errFn := errors.New("fn failed")
	tests := []struct {
		name  string
		i     store.Issuance
		after error // what fn returns after a successful issue
		want  error
	}{
		{"other-tenants-device", newIssuance("t-a", "d-3", 2), nil, store.ErrNotFound},
		{"fn-fails-after", newIssuance("t-a", "d-2", 3), errFn, errFn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Tx(ctx, func(q store.Queries) error {
				if err := issue(q, tc.i); err != nil {
					return err
				}
				return tc.after
			})
			wantErr(t, err, tc.want)
			_, err = s.GetCert(ctx, tc.i.IssuerID, tc.i.Serial)
			wantErr(t, err, store.ErrNotFound)
		})
	}

	got, err := s.GetCert(ctx, ok.IssuerID, ok.Serial)
	mustOK(t, err)
	wantDiff(t, newCert(ok.IssuerID, ok.Serial, ok.DeviceID, ok.NotAfter), got)
	is, err := s.ListIssuances(ctx, store.IssuanceFilter{})
	mustOK(t, err)
	wantDiff(t, []store.Issuance{ok}, is, ignoreSeq)
	ds, err := s.ListDevices(ctx, store.DeviceFilter{})
	mustOK(t, err)
	wantDiff(t, []store.Device{
		attested("t-a", "d-1", ok),
		{ID: "d-2", RegisteredAt: t0, TenantID: "t-a", ClaimedAt: t0},
		{ID: "d-3", RegisteredAt: t0, TenantID: "t-b", ClaimedAt: t0},
		{ID: "d-4", RegisteredAt: t0},
	}, ds)
}

func testListIssuances(t *testing.T, s store.Store) {
	ctx := t.Context()
	attestedDevices(t, s)
	// Oldest first, devices d-1 d-2 d-3 d-1 d-2 d-3; d-3 is of tenant t-b.
	var put []store.Issuance
	for n := range 6 {
		tenant, device := "t-a", fmt.Sprintf("d-%d", n%3+1)
		if device == "d-3" {
			tenant = "t-b"
		}
		i := newIssuance(tenant, device, n)
		i.Seq = 1000 // the store assigns Seq
		mustOK(t, s.PutIssuance(ctx, i))
		put = append(put, i)
	}

	all, err := s.ListIssuances(ctx, store.IssuanceFilter{})
	mustOK(t, err)
	wantDiff(t, []store.Issuance{put[5], put[4], put[3], put[2], put[1], put[0]}, all,
		ignoreSeq)
	for i := 1; i < len(all); i++ {
		if all[i].Seq >= all[i-1].Seq {
			t.Errorf("Seq %d listed after %d, want descending", all[i].Seq, all[i-1].Seq)
		}
	}
	if len(all) != 6 {
		t.Fatalf("ListIssuances returned %d issuances, want 6", len(all))
	}

	tests := []struct {
		name   string
		filter store.IssuanceFilter
		want   []store.Issuance
		err    error
	}{
		{"first-page", store.IssuanceFilter{Limit: 2}, all[:2], nil},
		{"next-page", store.IssuanceFilter{Before: all[1].Seq, Limit: 2}, all[2:4], nil},
		{"past-end", store.IssuanceFilter{Before: all[5].Seq}, nil, nil},
		{"tenant", store.IssuanceFilter{TenantID: "t-a"},
			[]store.Issuance{all[1], all[2], all[4], all[5]}, nil},
		{"tenant-page", store.IssuanceFilter{TenantID: "t-a", Before: all[2].Seq, Limit: 1},
			[]store.Issuance{all[4]}, nil},
		{"device", store.IssuanceFilter{DeviceID: "d-3"},
			[]store.Issuance{all[0], all[3]}, nil},
		{"device-page", store.IssuanceFilter{DeviceID: "d-1", Before: all[2].Seq},
			[]store.Issuance{all[5]}, nil},
		{"tenant-and-device", store.IssuanceFilter{TenantID: "t-a", DeviceID: "d-2"},
			[]store.Issuance{all[1], all[4]}, nil},
		{"device-of-other-tenant", store.IssuanceFilter{TenantID: "t-a", DeviceID: "d-3"},
			nil, nil},
		{"unknown-tenant", store.IssuanceFilter{TenantID: "t-z"}, nil, nil},
		{"negative-limit", store.IssuanceFilter{Limit: -1}, nil, errInvalid},
		{"negative-bound", store.IssuanceFilter{Before: -1}, nil, errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListIssuances(ctx, tc.filter)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, got, cmpopts.EquateEmpty())
		})
	}
}

func testIssuancesDefaultLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	attestedDevices(t, s)
	err := s.Tx(ctx, func(q store.Queries) error {
		for n := range 101 {
			if err := q.PutIssuance(ctx, newIssuance("t-a", "d-1", n)); err != nil {
				return err
			}
		}
		return nil
	})
	mustOK(t, err)

	got, err := s.ListIssuances(ctx, store.IssuanceFilter{})
	mustOK(t, err)
	wantDiff(t, 100, len(got))
	if len(got) > 0 {
		wantDiff(t, int64(100), got[0].CatalogueVersion)
	}
}
