package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

// nonceTTL is how long the suite's nonces stay valid.
const nonceTTL = time.Minute

// newNonce returns an unused nonce for the device, created at t0.
func newNonce(value, device string) store.Nonce {
	return store.Nonce{Value: []byte(value), DeviceID: device, CreatedAt: t0,
		ExpiresAt: t0.Add(nonceTTL)}
}

// nonceDevices registers d-1 and d-2, the devices the suite's nonces are
// for, and d-blocked, which is blocked.
func nonceDevices(tb testing.TB, s store.Store) {
	tb.Helper()
	_, err := s.RegisterDevices(tb.Context(), []string{"d-1", "d-2", "d-blocked"}, t0)
	if err == nil {
		err = s.SetDeviceBlocked(tb.Context(), "d-blocked", true, t0)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

func testPutNonce(t *testing.T, s store.Store) {
	ctx := t.Context()
	nonceDevices(t, s)
	mustOK(t, s.PutNonce(ctx, newNonce("n-1", "d-1")))

	noExpiry := newNonce("n-3", "d-1")
	noExpiry.ExpiresAt = time.Time{}
	tests := []struct {
		name  string
		nonce store.Nonce
		err   error
	}{
		{"value-taken", newNonce("n-1", "d-2"), store.ErrConflict},
		{"unknown-device", newNonce("n-2", "d-9"), store.ErrNotFound},
		{"blocked-device", newNonce("n-2", "d-blocked"), store.ErrNotFound},
		{"empty-value", newNonce("", "d-1"), errInvalid},
		{"empty-device", newNonce("n-2", ""), errInvalid},
		{"zero-expiry", noExpiry, errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.PutNonce(ctx, tc.nonce), tc.err)
		})
	}

	// The refused puts left the first nonce as it was.
	got, err := s.ConsumeNonce(ctx, []byte("n-1"), "d-1", t0.Add(time.Second))
	mustOK(t, err)
	wantDiff(t, newNonce("n-1", "d-1"), got)
}

func testConsumeNonce(t *testing.T, s store.Store) {
	ctx := t.Context()
	nonceDevices(t, s)
	now := t0.Add(10 * time.Second)
	expiresNow := newNonce("n-expires-now", "d-1")
	expiresNow.ExpiresAt = now
	for _, n := range []store.Nonce{newNonce("n-1", "d-1"), newNonce("n-2", "d-2"),
		newNonce("n-expired", "d-1"), expiresNow} {
		mustOK(t, s.PutNonce(ctx, n))
	}
	used := newNonce("n-1", "d-1")
	used.ConsumedAt = now
	late := t0.Add(2 * nonceTTL)

	// The cases run in order, each on what the one before left.
	tests := []struct {
		name   string
		value  string
		device string
		now    time.Time
		want   store.Nonce
		err    error
	}{
		{"consume", "n-1", "d-1", now, newNonce("n-1", "d-1"), nil},
		{"used", "n-1", "d-1", now.Add(time.Second), used, store.ErrConflict},
		{"other-device", "n-2", "d-1", now, newNonce("n-2", "d-2"), store.ErrConflict},
		{"own-device-after-other", "n-2", "d-2", now, newNonce("n-2", "d-2"), nil},
		{"expired", "n-expired", "d-1", late, newNonce("n-expired", "d-1"),
			store.ErrConflict},
		{"expires-now", "n-expires-now", "d-1", now, expiresNow, store.ErrConflict},
		// The refused consumption changed nothing: before its expiry the
		// nonce is still there to use.
		{"expired-was-unchanged", "n-expired", "d-1", now, newNonce("n-expired", "d-1"),
			nil},
		{"unknown", "n-9", "d-1", now, store.Nonce{}, store.ErrNotFound},
		{"empty-value", "", "d-1", now, store.Nonce{}, store.ErrNotFound},
		{"zero-time", "n-expires-now", "d-1", time.Time{}, store.Nonce{}, errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ConsumeNonce(ctx, []byte(tc.value), tc.device, tc.now)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, got)
		})
	}

	// A blocked device's nonce is not spent, whatever the nonce: blocking
	// comes first. Unblocked, the device can spend it.
	t.Run("blocked", func(t *testing.T) {
		mustOK(t, s.PutNonce(ctx, newNonce("n-blocked", "d-2")))
		mustOK(t, s.SetDeviceBlocked(ctx, "d-2", true, now))
		for _, value := range []string{"n-blocked", "n-1", "n-9"} {
			got, err := s.ConsumeNonce(ctx, []byte(value), "d-2", now)
			wantErr(t, err, store.ErrBlocked)
			wantDiff(t, store.Nonce{}, got)
		}
		mustOK(t, s.SetDeviceBlocked(ctx, "d-2", false, now))
		got, err := s.ConsumeNonce(ctx, []byte("n-blocked"), "d-2", now)
		mustOK(t, err)
		wantDiff(t, newNonce("n-blocked", "d-2"), got)
	})
}

// testConcurrentConsume races consumptions of one nonce, as replicas would
// race a replayed attestation: exactly one succeeds, and the others see the
// winner's consumption.
func testConcurrentConsume(t *testing.T, s store.Store) {
	ctx := t.Context()
	nonceDevices(t, s)
	const rounds, racers = 20, 32
	for r := range rounds {
		value := fmt.Sprintf("n-%d", r)
		mustOK(t, s.PutNonce(ctx, newNonce(value, "d-1")))

		// Each racer consumes at its own time, to tell whose write the
		// others saw.
		at := func(i int) time.Time { return t0.Add(time.Duration(i+1) * time.Millisecond) }
		got := make([]store.Nonce, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				got[i], errs[i] = s.ConsumeNonce(ctx, []byte(value), "d-1", at(i))
			})
		}
		wg.Wait()

		winner := -1
		for i := range racers {
			if errs[i] == nil {
				if winner >= 0 {
					t.Fatalf("round %d: racers %d and %d both consumed the nonce",
						r, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no racer consumed the nonce: %v", r, errors.Join(errs...))
		}
		want := newNonce(value, "d-1")
		wantDiff(t, want, got[winner])
		want.ConsumedAt = at(winner)
		for i := range racers {
			if i != winner {
				wantErr(t, errs[i], store.ErrConflict)
				wantDiff(t, want, got[i])
			}
		}
	}
}

func testDeleteNonces(t *testing.T, s store.Store) {
	ctx := t.Context()
	nonceDevices(t, s)
	cut := t0.Add(time.Hour)
	expiring := func(value string, at time.Time) store.Nonce {
		n := newNonce(value, "d-1")
		n.ExpiresAt = at
		return n
	}
	gone := []store.Nonce{
		expiring("n-old", t0),
		expiring("n-just-before", cut.Add(-time.Microsecond)),
	}
	kept := []store.Nonce{
		expiring("n-at-cut", cut),
		expiring("n-later", cut.Add(time.Hour)),
	}
	// A consumed nonce goes when it expires, as an unused one does.
	usedGone := expiring("n-used-old", t0.Add(time.Minute))
	usedGone.ConsumedAt = t0
	gone = append(gone, usedGone)
	for _, n := range append(append([]store.Nonce{}, gone...), kept...) {
		mustOK(t, s.PutNonce(ctx, n))
	}

	n, err := s.DeleteNonces(ctx, cut)
	mustOK(t, err)
	wantDiff(t, len(gone), n)
	n, err = s.DeleteNonces(ctx, cut)
	mustOK(t, err)
	wantDiff(t, 0, n)
	_, err = s.DeleteNonces(ctx, time.Time{})
	wantErr(t, err, errInvalid)

	for _, g := range gone {
		_, err := s.ConsumeNonce(ctx, g.Value, "d-1", t0)
		wantErr(t, err, store.ErrNotFound)
	}
	for _, k := range kept {
		got, err := s.ConsumeNonce(ctx, k.Value, "d-1", t0)
		mustOK(t, err)
		wantDiff(t, k, got)
	}
}
