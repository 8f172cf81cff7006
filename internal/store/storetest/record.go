package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

// errFnFailed is the failure of a transaction's function after its writes.
var errFnFailed = errors.New("fn failed after its writes")

// recorded returns the attestation of the device with the nonce value, as
// the DAA records an accepted one: the certificate and issuance numbered n.
func recorded(value, tenant, device string, n int) store.Attestation {
	i := newIssuance(tenant, device, n)
	c := newCert(i.IssuerID, i.Serial, device, i.NotAfter)
	c.TenantID = tenant
	return store.Attestation{Nonce: []byte(value), DeviceID: device,
		At: t0.Add(10 * time.Second), Cert: &c, Issuance: &i}
}

// testRecordAttestation checks an attestation's one write: accepted, it
// spends the nonce and records the certificate and issuance together;
// refused for the nonce, it writes nothing; refused before, it spends the
// nonce alone; for a device that left the tenant, the nonce stays spent
// and nothing else is written.
func testRecordAttestation(t *testing.T, s store.Store) {
	ctx := t.Context()
	attestedDevices(t, s)
	for _, n := range []store.Nonce{
		newNonce("n-1", "d-1"), newNonce("n-2", "d-2"), newNonce("n-3", "d-3"),
		newNonce("n-4", "d-4"), newNonce("n-5", "d-1"), newNonce("n-6", "d-2"),
		newNonce("n-7", "d-2"),
	} {
		mustOK(t, s.PutNonce(ctx, n))
	}

	ok := recorded("n-1", "t-a", "d-1", 1)
	got, err := s.RecordAttestation(ctx, ok)
	mustOK(t, err)
	wantDiff(t, newNonce("n-1", "d-1"), got)

	// Refused before the write: the nonce alone is spent.
	refused := store.Attestation{Nonce: []byte("n-2"), DeviceID: "d-2", At: ok.At}
	got, err = s.RecordAttestation(ctx, refused)
	mustOK(t, err)
	wantDiff(t, newNonce("n-2", "d-2"), got)

	spent := func(value, device string) store.Nonce {
		n := newNonce(value, device)
		n.ConsumedAt = ok.At
		return n
	}
	edit := func(a store.Attestation, fn func(a *store.Attestation)) store.Attestation {
		c, i := *a.Cert, *a.Issuance
		a.Cert, a.Issuance = &c, &i
		fn(&a)
		return a
	}
	late := t0.Add(2 * nonceTTL)
	tests := []struct {
		name string
		a    store.Attestation
		want store.Nonce
		err  error
	}{
		{"nonce-used", recorded("n-1", "t-a", "d-1", 2), spent("n-1", "d-1"),
			store.ErrConflict},
		{"nonce-of-refused-attestation", recorded("n-2", "t-a", "d-2", 3),
			spent("n-2", "d-2"), store.ErrConflict},
		{"nonce-of-other-device", recorded("n-5", "t-a", "d-2", 4), newNonce("n-5", "d-1"),
			store.ErrConflict},
		{"nonce-expired", edit(recorded("n-6", "t-a", "d-2", 5), func(a *store.Attestation) {
			a.At = late
		}), newNonce("n-6", "d-2"), store.ErrConflict},
		{"nonce-unknown", recorded("n-9", "t-a", "d-2", 6), store.Nonce{}, store.ErrNotFound},
		{"serial-taken", edit(recorded("n-7", "t-a", "d-2", 7), func(a *store.Attestation) {
			a.Cert.Serial, a.Issuance.Serial = ok.Cert.Serial, ok.Cert.Serial
		}), store.Nonce{}, store.ErrConflict},
		{"cert-without-issuance", edit(recorded("n-7", "t-a", "d-2", 8),
			func(a *store.Attestation) { a.Issuance = nil }), store.Nonce{}, errInvalid},
		{"issuance-without-cert", edit(recorded("n-7", "t-a", "d-2", 9),
			func(a *store.Attestation) { a.Cert = nil }), store.Nonce{}, errInvalid},
		{"cert-of-other-device", edit(recorded("n-7", "t-a", "d-2", 10),
			func(a *store.Attestation) { a.Cert.DeviceID = "d-1" }), store.Nonce{}, errInvalid},
		{"cert-of-other-tenant", edit(recorded("n-7", "t-a", "d-2", 11),
			func(a *store.Attestation) { a.Cert.TenantID = "t-b" }), store.Nonce{}, errInvalid},
		{"empty-serial", edit(recorded("n-7", "t-a", "d-2", 12), func(a *store.Attestation) {
			a.Cert.Serial, a.Issuance.Serial = nil, nil
		}), store.Nonce{}, errInvalid},
		{"zero-time", edit(recorded("n-7", "t-a", "d-2", 13), func(a *store.Attestation) {
			a.At = time.Time{}
		}), store.Nonce{}, errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.RecordAttestation(ctx, tc.a)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, got)
		})
	}

	// A device of another tenant, and one no tenant claims: the nonce is
	// spent, and no certificate or issuance is written.
	for _, a := range []store.Attestation{recorded("n-3", "t-a", "d-3", 14),
		recorded("n-4", "t-a", "d-4", 15)} {
		got, err := s.RecordAttestation(ctx, a)
		wantErr(t, err, store.ErrUnclaimed)
		wantDiff(t, store.Nonce{}, got)
		_, err = s.ConsumeNonce(ctx, a.Nonce, a.DeviceID, a.At.Add(time.Second))
		wantErr(t, err, store.ErrConflict)
	}

	// A blocked device: nothing is written, accepted or refused, and the
	// nonce stays unspent for when the device is unblocked.
	mustOK(t, s.PutNonce(ctx, newNonce("n-8", "d-2")))
	mustOK(t, s.SetDeviceBlocked(ctx, "d-2", true, t0))
	for _, a := range []store.Attestation{recorded("n-8", "t-a", "d-2", 16),
		{Nonce: []byte("n-8"), DeviceID: "d-2", At: ok.At}} {
		got, err := s.RecordAttestation(ctx, a)
		wantErr(t, err, store.ErrBlocked)
		wantDiff(t, store.Nonce{}, got)
	}
	mustOK(t, s.SetDeviceBlocked(ctx, "d-2", false, t0))

	// Only the accepted attestation left a certificate and an issuance, and
	// changed its device; n-7, refused for its input, is still unspent.
	for n := 2; n <= 16; n++ {
		i := newIssuance("t-a", "", n)
		if _, err := s.GetCert(ctx, i.IssuerID, i.Serial); err == nil {
			t.Errorf("certificate %x was written", i.Serial)
		}
	}
	c, err := s.GetCert(ctx, ok.Cert.IssuerID, ok.Cert.Serial)
	mustOK(t, err)
	wantDiff(t, *ok.Cert, c)
	is, err := s.ListIssuances(ctx, store.IssuanceFilter{})
	mustOK(t, err)
	wantDiff(t, []store.Issuance{*ok.Issuance}, is, ignoreSeq)
	all, err := s.ListDevices(ctx, store.DeviceFilter{})
	mustOK(t, err)
	wantDiff(t, []store.Device{
		attested("t-a", "d-1", *ok.Issuance),
		{ID: "d-2", RegisteredAt: t0, BlockedAt: t0, TenantID: "t-a", ClaimedAt: t0},
		{ID: "d-3", RegisteredAt: t0, TenantID: "t-b", ClaimedAt: t0},
		{ID: "d-4", RegisteredAt: t0},
	}, all)
	_, err = s.ConsumeNonce(ctx, []byte("n-7"), "d-2", ok.At)
	mustOK(t, err)
}

// testRecordAttestationTx records an accepted attestation inside Tx, where
// the caller's transaction decides: a failure after it undoes it all.
func testRecordAttestationTx(t *testing.T, s store.Store) {
	ctx := t.Context()
	attestedDevices(t, s)
	mustOK(t, s.PutNonce(ctx, newNonce("n-1", "d-1")))
	mustOK(t, s.PutNonce(ctx, newNonce("n-2", "d-2")))

	undone := recorded("n-2", "t-a", "d-2", 2)
	err := s.Tx(ctx, func(q store.Queries) error {
		if _, err := q.RecordAttestation(ctx, undone); err != nil {
			return err
		}
		return errFnFailed
	})
	wantErr(t, err, errFnFailed)
	if _, err := s.GetCert(ctx, undone.Cert.IssuerID, undone.Cert.Serial); err == nil {
		t.Error("the certificate of a rolled back attestation was kept")
	}

	ok := recorded("n-1", "t-a", "d-1", 1)
	mustOK(t, s.Tx(ctx, func(q store.Queries) error {
		_, err := q.RecordAttestation(ctx, ok)
		return err
	}))
	is, err := s.ListIssuances(ctx, store.IssuanceFilter{})
	mustOK(t, err)
	wantDiff(t, []store.Issuance{*ok.Issuance}, is, ignoreSeq)
	// The rolled back attestation's nonce is still there to use.
	_, err = s.ConsumeNonce(ctx, []byte("n-2"), "d-2", ok.At)
	mustOK(t, err)
}
