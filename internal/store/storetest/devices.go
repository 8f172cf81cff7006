package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

// deviceIDs returns n device IDs from first, which sort as numbers do.
func deviceIDs(first, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("d-%05d", first+i)
	}
	return ids
}

func testRegisterDevices(t *testing.T, s store.Store) {
	ctx := t.Context()
	later := t0.Add(time.Hour)
	tests := []struct {
		name string
		ids  []string
		at   time.Time
		want int
		err  error
	}{
		{"new", []string{"d-2", "d-1"}, t0, 2, nil},
		{"repeated-in-call", []string{"d-3", "d-3", "d-3"}, t0, 1, nil},
		{"some-registered", []string{"d-1", "d-4", "d-2"}, later, 1, nil},
		{"all-registered", []string{"d-4"}, later, 0, nil},
		{"none", nil, later, 0, nil},
		{"empty-id", []string{"d-5", ""}, later, 0, errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.RegisterDevices(ctx, tc.ids, tc.at)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, n)
		})
	}

	// Registering again keeps the first registration.
	want := []store.Device{
		{ID: "d-1", RegisteredAt: t0},
		{ID: "d-2", RegisteredAt: t0},
		{ID: "d-3", RegisteredAt: t0},
		{ID: "d-4", RegisteredAt: later},
	}
	got, err := s.ListDevices(ctx, store.DeviceFilter{})
	mustOK(t, err)
	wantDiff(t, want, got)
	d, err := s.GetDevice(ctx, "d-2")
	mustOK(t, err)
	wantDiff(t, want[1], d)
	_, err = s.GetDevice(ctx, "d-5")
	wantErr(t, err, store.ErrNotFound)
}

func testRegisterManyDevices(t *testing.T, s store.Store) {
	ctx := t.Context()
	n, err := s.RegisterDevices(ctx, deviceIDs(0, 5000), t0)
	mustOK(t, err)
	wantDiff(t, 5000, n)
	n, err = s.RegisterDevices(ctx, deviceIDs(2500, 5000), t0)
	mustOK(t, err)
	wantDiff(t, 2500, n)

	// The default limit is 1000; pages of it walk every device in order.
	var seen []string
	after := ""
	for {
		page, err := s.ListDevices(ctx, store.DeviceFilter{After: after})
		mustOK(t, err)
		if len(page) > 1000 {
			t.Fatalf("ListDevices returned %d devices, want at most 1000", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, d := range page {
			seen = append(seen, d.ID)
		}
		after = page[len(page)-1].ID
	}
	wantDiff(t, deviceIDs(0, 7500), seen)
}

func testSetDeviceBlocked(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.RegisterDevices(ctx, []string{"d-1"}, t0)
	mustOK(t, err)

	t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
	tests := []struct {
		name    string
		id      string
		blocked bool
		at      time.Time
		want    store.Device
		err     error
	}{
		{"block", "d-1", true, t1,
			store.Device{ID: "d-1", RegisteredAt: t0, Blocked: true, BlockedAt: t1}, nil},
		// Blocking a blocked device keeps the time it was blocked.
		{"block-again", "d-1", true, t2,
			store.Device{ID: "d-1", RegisteredAt: t0, Blocked: true, BlockedAt: t1}, nil},
		{"unblock", "d-1", false, t3,
			store.Device{ID: "d-1", RegisteredAt: t0, Blocked: false, BlockedAt: t3}, nil},
		{"unknown-device", "d-9", true, t1, store.Device{}, store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.SetDeviceBlocked(ctx, tc.id, tc.blocked, tc.at), tc.err)
			if tc.err != nil {
				return
			}
			got, err := s.GetDevice(ctx, tc.id)
			mustOK(t, err)
			wantDiff(t, tc.want, got)
		})
	}
}

func testClaimDevice(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.RegisterDevices(ctx, []string{"d-1", "d-2"}, t0)
	mustOK(t, err)

	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	// The cases run in order, each on what the one before left.
	tests := []struct {
		name   string
		id     string
		tenant string
		at     time.Time
		want   bool
		err    error
	}{
		{"claim", "d-1", "t-a", t1, true, nil},
		{"same-tenant-again", "d-1", "t-a", t2, false, nil},
		{"other-tenant", "d-1", "t-b", t2, false, store.ErrConflict},
		{"unregistered", "d-9", "t-a", t1, false, store.ErrNotFound},
		{"empty-tenant", "d-2", "", t1, false, errInvalid},
		{"second-device", "d-2", "t-b", t2, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ClaimDevice(ctx, tc.id, tc.tenant, tc.at)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, got)
		})
	}

	want := []store.Device{
		{ID: "d-1", RegisteredAt: t0, TenantID: "t-a", ClaimedAt: t1},
		{ID: "d-2", RegisteredAt: t0, TenantID: "t-b", ClaimedAt: t2},
	}
	got, err := s.ListDevices(ctx, store.DeviceFilter{})
	mustOK(t, err)
	wantDiff(t, want, got)
}

func testListDevices(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.RegisterDevices(ctx, deviceIDs(1, 5), t0)
	mustOK(t, err)
	for id, tenant := range map[string]string{"d-00002": "t-a", "d-00004": "t-a",
		"d-00005": "t-b"} {
		_, err := s.ClaimDevice(ctx, id, tenant, t0)
		mustOK(t, err)
	}

	tests := []struct {
		name   string
		filter store.DeviceFilter
		want   []string
		err    error
	}{
		{"all", store.DeviceFilter{}, deviceIDs(1, 5), nil},
		{"first-page", store.DeviceFilter{Limit: 2}, deviceIDs(1, 2), nil},
		{"next-page", store.DeviceFilter{After: "d-00002", Limit: 2}, deviceIDs(3, 2), nil},
		{"last-page", store.DeviceFilter{After: "d-00004", Limit: 2}, deviceIDs(5, 1), nil},
		{"past-end", store.DeviceFilter{After: "d-00005"}, nil, nil},
		{"after-unknown-id", store.DeviceFilter{After: "d-00002x"}, deviceIDs(3, 3), nil},
		{"tenant", store.DeviceFilter{TenantID: "t-a"},
			[]string{"d-00002", "d-00004"}, nil},
		{"tenant-page", store.DeviceFilter{TenantID: "t-a", Limit: 1},
			[]string{"d-00002"}, nil},
		{"tenant-next-page", store.DeviceFilter{TenantID: "t-a", After: "d-00002"},
			[]string{"d-00004"}, nil},
		{"tenant-without-devices", store.DeviceFilter{TenantID: "t-z"}, nil, nil},
		{"negative-limit", store.DeviceFilter{Limit: -1}, nil, errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := s.ListDevices(ctx, tc.filter)
			wantErr(t, err, tc.err)
			var got []string
			for _, d := range ds {
				got = append(got, d.ID)
			}
			wantDiff(t, tc.want, got)
		})
	}
}

// testConcurrentClaims races claims of one device by many tenants, as
// replicas would: exactly one wins.
func testConcurrentClaims(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.RegisterDevices(ctx, []string{"d-1"}, t0)
	mustOK(t, err)

	const n = 16
	claimed := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			claimed[i], errs[i] = s.ClaimDevice(ctx, "d-1", fmt.Sprintf("t-%d", i), t0)
		})
	}
	wg.Wait()

	winner := ""
	for i := range n {
		switch {
		case claimed[i] && errs[i] == nil:
			if winner != "" {
				t.Errorf("t-%d claimed d-1 after %s did", i, winner)
			}
			winner = fmt.Sprintf("t-%d", i)
		case !claimed[i]:
			wantErr(t, errs[i], store.ErrConflict)
		default:
			t.Errorf("t-%d: ClaimDevice = true, %v", i, errs[i])
		}
	}
	if winner == "" {
		t.Fatal("no tenant claimed d-1")
	}
	d, err := s.GetDevice(ctx, "d-1")
	mustOK(t, err)
	wantDiff(t, winner, d.TenantID)
}

// testConcurrentRegistration races registration of overlapping batches:
// each device counts as new exactly once.
func testConcurrentRegistration(t *testing.T, s store.Store) {
	ctx := t.Context()
	const workers, step, batch = 8, 300, 900
	counts := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			ids := deviceIDs(i*step, batch)
			// Every other worker sends its batch backwards.
			if i%2 == 1 {
				for a, b := 0, len(ids)-1; a < b; a, b = a+1, b-1 {
					ids[a], ids[b] = ids[b], ids[a]
				}
			}
			counts[i], errs[i] = s.RegisterDevices(ctx, ids, t0)
		})
	}
	wg.Wait()

	total := 0
	for i := range workers {
		mustOK(t, errs[i])
		total += counts[i]
	}
	distinct := (workers-1)*step + batch
	wantDiff(t, distinct, total)
	ds, err := s.ListDevices(ctx, store.DeviceFilter{Limit: distinct + 1})
	mustOK(t, err)
	wantDiff(t, distinct, len(ds))
}
