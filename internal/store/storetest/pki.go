package storetest

import (
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

const year = 365 * 24 * time.Hour

// newCA returns a CA record valid for ten years from t0.
func newCA(id string, kind store.CAKind, tenantID string, gen int) store.CA {
	return store.CA{
		ID:         id,
		Kind:       kind,
		TenantID:   tenantID,
		Generation: gen,
		KeyID:      "k-" + id,
		CertDER:    []byte("der of " + id),
		NotBefore:  t0,
		NotAfter:   t0.Add(10 * year),
		ActiveFrom: t0.Add(time.Duration(gen) * time.Hour),
		CreatedAt:  t0,
	}
}

func testCAs(t *testing.T, s store.Store) {
	ctx := t.Context()
	root := newCA("ca-root", store.KindRoot, "", 1)
	inter := newCA("ca-int", store.KindIntermediate, "", 1)
	a1 := newCA("ca-a1", store.KindTenant, "t-a", 1)
	a2 := newCA("ca-a2", store.KindTenant, "t-a", 2)
	b1 := newCA("ca-b1", store.KindTenant, "t-b", 1)
	// Generation 2 goes in first, to show that lists are by generation.
	for _, ca := range []store.CA{root, inter, a2, a1, b1} {
		mustOK(t, s.PutCA(ctx, ca))
	}

	got, err := s.GetCA(ctx, "ca-a2")
	mustOK(t, err)
	wantDiff(t, a2, got)
	_, err = s.GetCA(ctx, "ca-missing")
	wantErr(t, err, store.ErrNotFound)

	lists := []struct {
		name     string
		kind     store.CAKind
		tenantID string
		want     []store.CA
	}{
		{"root", store.KindRoot, "", []store.CA{root}},
		{"intermediate", store.KindIntermediate, "", []store.CA{inter}},
		{"tenant-a", store.KindTenant, "t-a", []store.CA{a1, a2}},
		{"tenant-b", store.KindTenant, "t-b", []store.CA{b1}},
		{"tenant-without-cas", store.KindTenant, "t-c", nil},
		{"root-with-tenant", store.KindRoot, "t-a", nil},
	}
	for _, tc := range lists {
		t.Run("list-"+tc.name, func(t *testing.T) {
			got, err := s.ListCAs(ctx, tc.kind, tc.tenantID)
			mustOK(t, err)
			wantDiff(t, tc.want, got)
		})
	}

	conflicts := []struct {
		name string
		ca   store.CA
	}{
		{"id-taken", newCA("ca-a1", store.KindTenant, "t-z", 9)},
		{"root-generation", newCA("ca-root-again", store.KindRoot, "", 1)},
		{"intermediate-generation", newCA("ca-int-again", store.KindIntermediate, "", 1)},
		{"tenant-generation", newCA("ca-a2-again", store.KindTenant, "t-a", 2)},
	}
	for _, tc := range conflicts {
		t.Run("conflict-"+tc.name, func(t *testing.T) {
			wantErr(t, s.PutCA(ctx, tc.ca), store.ErrConflict)
		})
	}
}

func testRevokeCA(t *testing.T, s store.Store) {
	ctx := t.Context()
	ca := newCA("ca-a1", store.KindTenant, "t-a", 1)
	mustOK(t, s.PutCA(ctx, ca))

	first, later := t0.Add(time.Hour), t0.Add(2*time.Hour)
	mustOK(t, s.RevokeCA(ctx, "ca-a1", first))
	// Revoking again keeps the first time.
	mustOK(t, s.RevokeCA(ctx, "ca-a1", later))
	got, err := s.GetCA(ctx, "ca-a1")
	mustOK(t, err)
	ca.RevokedAt = first
	wantDiff(t, ca, got)

	wantErr(t, s.RevokeCA(ctx, "ca-missing", first), store.ErrNotFound)
	wantErr(t, s.RevokeCA(ctx, "ca-a1", time.Time{}), errInvalid)
}

// newCert returns a device certificate record issued at t0.
func newCert(issuer string, serial []byte, device string, notAfter time.Time) store.Cert {
	return store.Cert{
		IssuerID:  issuer,
		Serial:    serial,
		Kind:      store.CertDevice,
		Subject:   device,
		DeviceID:  device,
		TenantID:  "t-a",
		NotBefore: t0,
		NotAfter:  notAfter,
		CertDER:   append([]byte("der "), serial...),
		CreatedAt: t0,
	}
}

func testCerts(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := newCert("ca-a1", []byte{0x01, 0x00}, "d-1", t0.Add(year))
	proof := store.Cert{
		IssuerID: "ca-int", Serial: []byte{0x7f}, Kind: store.CertProof, Subject: "proof",
		NotBefore: t0, NotAfter: t0.Add(time.Hour), CertDER: []byte{0x30}, CreatedAt: t0,
	}
	mustOK(t, s.PutCert(ctx, c))
	mustOK(t, s.PutCert(ctx, proof))
	// The same serial from another issuer is a different certificate.
	other := newCert("ca-b1", []byte{0x01, 0x00}, "d-2", t0.Add(year))
	mustOK(t, s.PutCert(ctx, other))

	gets := []struct {
		name   string
		issuer string
		serial []byte
		want   store.Cert
		err    error
	}{
		{"device", "ca-a1", []byte{0x01, 0x00}, c, nil},
		{"proof", "ca-int", []byte{0x7f}, proof, nil},
		{"same-serial-other-issuer", "ca-b1", []byte{0x01, 0x00}, other, nil},
		{"unknown-serial", "ca-a1", []byte{0x01}, store.Cert{}, store.ErrNotFound},
		{"unknown-issuer", "ca-z", []byte{0x01, 0x00}, store.Cert{}, store.ErrNotFound},
		{"empty-serial", "ca-a1", nil, store.Cert{}, store.ErrNotFound},
	}
	for _, tc := range gets {
		t.Run("get-"+tc.name, func(t *testing.T) {
			got, err := s.GetCert(ctx, tc.issuer, tc.serial)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, got)
		})
	}

	puts := []struct {
		name string
		cert store.Cert
		err  error
	}{
		{"serial-taken", newCert("ca-a1", []byte{0x01, 0x00}, "d-3", t0), store.ErrConflict},
		{"empty-serial", newCert("ca-a1", nil, "d-3", t0), errInvalid},
	}
	for _, tc := range puts {
		t.Run("put-"+tc.name, func(t *testing.T) {
			wantErr(t, s.PutCert(ctx, tc.cert), tc.err)
		})
	}
}

func testListRevokedCerts(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := t0.Add(24 * time.Hour)
	revoked := t0.Add(time.Hour)
	cert := func(issuer string, serial []byte, notAfter, revokedAt time.Time) store.Cert {
		c := newCert(issuer, serial, "d-1", notAfter)
		c.RevokedAt = revokedAt
		return c
	}
	// Listed in numeric order of serial, which is not the order of bytes.
	want := []store.Cert{
		cert("ca-a1", []byte{0x02}, now.Add(time.Second), revoked),
		cert("ca-a1", []byte{0xff}, now.Add(year), revoked),
		cert("ca-a1", []byte{0x01, 0x00}, now.Add(year), revoked),
	}
	left := []store.Cert{
		cert("ca-a1", []byte{0x03}, now.Add(year), time.Time{}),   // not revoked
		cert("ca-a1", []byte{0x04}, now, revoked),                 // expires now
		cert("ca-a1", []byte{0x05}, now.Add(-time.Hour), revoked), // expired
		cert("ca-b1", []byte{0x06}, now.Add(year), revoked),       // other issuer
	}
	for _, c := range append(append([]store.Cert{}, left...), want...) {
		mustOK(t, s.PutCert(ctx, c))
	}

	got, err := s.ListRevokedCerts(ctx, "ca-a1", now)
	mustOK(t, err)
	wantDiff(t, want, got)
	got, err = s.ListRevokedCerts(ctx, "ca-z", now)
	mustOK(t, err)
	wantDiff(t, 0, len(got))
}

func testRevokeDeviceCerts(t *testing.T, s store.Store) {
	ctx := t.Context()
	at := t0.Add(24 * time.Hour)
	earlier := t0.Add(time.Hour)
	current := newCert("ca-a1", []byte{0x01}, "d-1", at.Add(year))
	fromOldCA := newCert("ca-a0", []byte{0x01}, "d-1", at.Add(time.Hour))
	revoked := newCert("ca-a1", []byte{0x02}, "d-1", at.Add(year))
	revoked.RevokedAt = earlier
	expired := newCert("ca-a1", []byte{0x03}, "d-1", at.Add(-time.Hour))
	otherDevice := newCert("ca-a1", []byte{0x04}, "d-2", at.Add(year))
	alone := newCert("ca-a1", []byte{0x05}, "d-1", at.Add(year)) // no issuance
	attestedDevices(t, s)
	for i, c := range []store.Cert{current, fromOldCA, revoked, expired, otherDevice} {
		mustOK(t, s.PutCert(ctx, c))
		is := newIssuance(c.TenantID, c.DeviceID, i)
		is.IssuerID, is.Serial, is.NotAfter = c.IssuerID, c.Serial, c.NotAfter
		mustOK(t, s.PutIssuance(ctx, is))
	}
	mustOK(t, s.PutCert(ctx, alone))

	n, err := s.RevokeDeviceCerts(ctx, "d-1", at)
	mustOK(t, err)
	wantDiff(t, 2, n)
	current.RevokedAt = at
	fromOldCA.RevokedAt = at
	for _, want := range []store.Cert{current, fromOldCA, revoked, expired, otherDevice,
		alone} {
		got, err := s.GetCert(ctx, want.IssuerID, want.Serial)
		mustOK(t, err)
		wantDiff(t, want, got)
	}

	tests := []struct {
		name   string
		device string
		at     time.Time
		want   int
		err    error
	}{
		{"again", "d-1", at.Add(time.Hour), 0, nil},
		{"unknown-device", "d-9", at, 0, nil},
		{"empty-device", "", at, 0, errInvalid},
		{"zero-time", "d-2", time.Time{}, 0, errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.RevokeDeviceCerts(ctx, tc.device, tc.at)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, n)
		})
	}
	got, err := s.GetCert(ctx, "ca-a1", []byte{0x04})
	mustOK(t, err)
	wantDiff(t, otherDevice, got)
}

func testCRLs(t *testing.T, s store.Store) {
	ctx := t.Context()
	crl := func(issuer string, n int64) store.CRL {
		return store.CRL{
			IssuerID:   issuer,
			Number:     n,
			ThisUpdate: t0.Add(time.Duration(n) * time.Hour),
			NextUpdate: t0.Add(time.Duration(n+24) * time.Hour),
			DER:        []byte{0x30, byte(n)},
		}
	}
	for _, c := range []store.CRL{crl("ca-a1", 1), crl("ca-a1", 3), crl("ca-a1", 2),
		crl("ca-b1", 7)} {
		mustOK(t, s.PutCRL(ctx, c))
	}

	tests := []struct {
		name   string
		issuer string
		want   store.CRL
		err    error
	}{
		{"highest-number", "ca-a1", crl("ca-a1", 3), nil},
		{"other-issuer", "ca-b1", crl("ca-b1", 7), nil},
		{"no-crl", "ca-z", store.CRL{}, store.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.LatestCRL(ctx, tc.issuer)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, got)
		})
	}

	t.Run("number-taken", func(t *testing.T) {
		wantErr(t, s.PutCRL(ctx, crl("ca-a1", 2)), store.ErrConflict)
	})
	t.Run("number-of-other-issuer", func(t *testing.T) {
		mustOK(t, s.PutCRL(ctx, crl("ca-b1", 2)))
	})
}
