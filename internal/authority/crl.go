package authority

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
)

// CRL validity: a CRL is valid for CRLLifetime and is signed anew once it is
// older than CRLRefresh, or at once when the set of revoked certificates
// changes.
const (
	CRLLifetime = 24 * time.Hour
	CRLRefresh  = 12 * time.Hour
)

// CRL returns the current DER CRL of the CA, signing a new one when the
// revoked set changed or the last one is due for refresh.
func (a *Authority) CRL(ctx context.Context, caID string) ([]byte, error) {
	ca, err := a.store.GetCA(ctx, caID)
	if err != nil {
		return nil, fmt.Errorf("authority: CRL of %s: %w", caID, err)
	}
	now := a.Now()
	revoked, err := a.store.ListRevokedCerts(ctx, ca.ID, now)
	if err != nil {
		return nil, fmt.Errorf("authority: CRL of %s: %w", caID, err)
	}
	last, err := a.store.LatestCRL(ctx, ca.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("authority: CRL of %s: %w", caID, err)
	}
	if err == nil && now.Before(last.ThisUpdate.Add(CRLRefresh)) && sameSerials(last, revoked) {
		return last.DER, nil
	}

	entries := make([]x509.RevocationListEntry, len(revoked))
	for i, c := range revoked {
		entries[i] = x509.RevocationListEntry{
			SerialNumber:   new(big.Int).SetBytes(c.Serial),
			RevocationTime: c.RevokedAt,
		}
	}
	iss, err := a.issuer(ctx, a.store, ca)
	if err != nil {
		return nil, err
	}
	next := store.CRL{IssuerID: ca.ID, Number: last.Number + 1, ThisUpdate: now,
		NextUpdate: now.Add(CRLLifetime)}
	next.DER, err = pki.CreateCRL(iss, next.Number, entries, now, next.NextUpdate)
	if err != nil {
		return nil, fmt.Errorf("authority: sign CRL of %s: %w", caID, err)
	}
	err = a.store.PutCRL(ctx, next)
	if errors.Is(err, store.ErrConflict) {
		// Another replica signed this number first; serve its CRL.
		last, err = a.store.LatestCRL(ctx, ca.ID)
		if err != nil {
			return nil, fmt.Errorf("authority: CRL of %s: %w", caID, err)
		}
		return last.DER, nil
	}
	if err != nil {
		return nil, fmt.Errorf("authority: record CRL of %s: %w", caID, err)
	}
	return next.DER, nil
}

// sameSerials reports whether a stored CRL lists exactly the revoked certs.
func sameSerials(last store.CRL, revoked []store.Cert) bool {
	rl, err := x509.ParseRevocationList(last.DER)
	if err != nil || len(rl.RevokedCertificateEntries) != len(revoked) {
		return false
	}
	have := make([]string, len(revoked))
	for i, c := range revoked {
		have[i] = new(big.Int).SetBytes(c.Serial).String()
	}
	slices.Sort(have)
	for _, e := range rl.RevokedCertificateEntries {
		if _, ok := slices.BinarySearch(have, e.SerialNumber.String()); !ok {
			return false
		}
	}
	return true
}
