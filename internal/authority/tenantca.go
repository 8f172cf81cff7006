package authority

import (
	"context"
	"crypto/elliptic"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
)

// State is where a tenant CA stands in its life.
type State string

// The states of a tenant CA. During a rollover the old CA is retiring and
// the new one is next; both are published, and both chain to the root.
const (
	StateNext     State = "next"     // created by a rollover, not signing yet
	StateActive   State = "active"   // signs new certificates
	StateRetiring State = "retiring" // superseded but valid; still trusted
	StateExpired  State = "expired"
	StateRevoked  State = "revoked"
)

// TenantCA is a tenant CA with its state at some time.
type TenantCA struct {
	store.CA
	State      State
	Thumbprint string // lowercase hex SHA-256 of the certificate
}

// CreateTenantCA creates the first CA of a tenant through q, which should be
// the transaction that creates the tenant.
func (a *Authority) CreateTenantCA(ctx context.Context, q store.Queries, t store.Tenant) (
	store.CA, error) {
	return a.createTenantCA(ctx, q, t, 1, time.Time{})
}

// createTenantCA makes generation gen of the tenant's CA. activeFrom zero
// means active at once.
func (a *Authority) createTenantCA(ctx context.Context, q store.Queries, t store.Tenant, gen int,
	activeFrom time.Time) (store.CA, error) {
	inter, err := a.Intermediate(ctx, q)
	if err != nil {
		return store.CA{}, err
	}
	interIss, err := a.issuer(ctx, q, inter)
	if err != nil {
		return store.CA{}, err
	}
	keyID, signer, err := a.newKey(ctx, q, elliptic.P256())
	if err != nil {
		return store.CA{}, err
	}
	id, err := a.newID()
	if err != nil {
		return store.CA{}, err
	}
	now := a.Now()
	info := pki.TenantCAInfo{TenantID: t.ID, TenantName: t.Name, Generation: gen, Org: a.org}
	rec := store.Cert{Kind: store.CertCA, Subject: t.Name, TenantID: t.ID}
	der, cert, err := a.sign(ctx, q, inter.ID, rec, func(serial *big.Int) ([]byte, error) {
		return pki.CreateTenantCA(interIss, signer.Public(), serial, info, now)
	})
	if err != nil {
		return store.CA{}, fmt.Errorf("authority: create CA for tenant %s: %w", t.ID, err)
	}
	if activeFrom.IsZero() {
		activeFrom = cert.NotBefore
	}
	ca := store.CA{
		ID: id, Kind: store.KindTenant, TenantID: t.ID, Generation: gen, KeyID: keyID,
		CertDER: der, NotBefore: cert.NotBefore, NotAfter: cert.NotAfter,
		ActiveFrom: activeFrom, CreatedAt: now,
	}
	if err := q.PutCA(ctx, ca); err != nil {
		return store.CA{}, fmt.Errorf("authority: record CA for tenant %s: %w", t.ID, err)
	}
	return ca, nil
}

// TenantCAs returns the tenant's CAs, oldest first, with their states now.
func (a *Authority) TenantCAs(ctx context.Context, tenantID string) ([]TenantCA, error) {
	cas, err := a.store.ListCAs(ctx, store.KindTenant, tenantID)
	if err != nil {
		return nil, fmt.Errorf("authority: list CAs of tenant %s: %w", tenantID, err)
	}
	return states(cas, a.Now()), nil
}

// states labels CAs ordered oldest first. The active CA is the newest one
// whose activation time has come and that is neither expired nor revoked.
func states(cas []store.CA, now time.Time) []TenantCA {
	out := make([]TenantCA, len(cas))
	active := -1
	for i := len(cas) - 1; i >= 0; i-- {
		ca := cas[i]
		out[i] = TenantCA{CA: ca, Thumbprint: pki.Thumbprint(ca.CertDER)}
		switch {
		case !ca.RevokedAt.IsZero():
			out[i].State = StateRevoked
		case !now.Before(ca.NotAfter):
			out[i].State = StateExpired
		case now.Before(ca.ActiveFrom):
			out[i].State = StateNext
		case active < 0:
			out[i].State = StateActive
			active = i
		default:
			out[i].State = StateRetiring
		}
	}
	return out
}

// ActiveTenantCA returns the CA that signs for the tenant now.
func (a *Authority) ActiveTenantCA(ctx context.Context, tenantID string) (TenantCA, error) {
	return a.FindTenantCA(ctx, tenantID, "active")
}

// FindTenantCA returns the tenant CA with the given thumbprint, or the
// active one if thumbprint is "active". It fails with ErrCANotFound, or
// ErrNoActiveCA for "active" when none is active.
func (a *Authority) FindTenantCA(ctx context.Context, tenantID, thumbprint string) (
	TenantCA, error) {
	cas, err := a.TenantCAs(ctx, tenantID)
	if err != nil {
		return TenantCA{}, err
	}
	for _, ca := range cas {
		if thumbprint == "active" && ca.State == StateActive || ca.Thumbprint == thumbprint {
			return ca, nil
		}
	}
	if thumbprint == "active" {
		return TenantCA{}, ErrNoActiveCA
	}
	return TenantCA{}, ErrCANotFound
}

// Chain returns the certificates from the CA up to the root, CA first.
func (a *Authority) Chain(ctx context.Context, ca store.CA) ([][]byte, error) {
	chain := [][]byte{ca.CertDER}
	if ca.Kind == store.KindTenant {
		inter, err := a.Intermediate(ctx, a.store)
		if err != nil {
			return nil, err
		}
		chain = append(chain, inter.CertDER)
	}
	if ca.Kind != store.KindRoot {
		root, err := a.Root(ctx, a.store)
		if err != nil {
			return nil, err
		}
		chain = append(chain, root.CertDER)
	}
	return chain, nil
}

// Rollover creates the next CA of every tenant whose active CA expires within
// pki.RolloverLead and has no successor yet; the successor becomes active
// pki.RolloverActivation later, or when its predecessor expires if that is
// sooner. It returns how many CAs it created. Replicas may run it at once:
// the store lets one of them create each generation.
func (a *Authority) Rollover(ctx context.Context) (int, error) {
	tenants, err := a.store.ListTenants(ctx)
	if err != nil {
		return 0, fmt.Errorf("authority: rollover: %w", err)
	}
	created := 0
	for _, t := range tenants {
		ok, err := a.rolloverTenant(ctx, t)
		if err != nil {
			return created, err
		}
		if ok {
			created++
		}
	}
	return created, nil
}

func (a *Authority) rolloverTenant(ctx context.Context, t store.Tenant) (bool, error) {
	cas, err := a.store.ListCAs(ctx, store.KindTenant, t.ID)
	if err != nil {
		return false, fmt.Errorf("authority: rollover tenant %s: %w", t.ID, err)
	}
	if len(cas) == 0 {
		return false, nil
	}
	now := a.Now()
	newest := cas[len(cas)-1]
	if !newest.RevokedAt.IsZero() || now.Before(newest.NotAfter.Add(-pki.RolloverLead)) {
		return false, nil
	}
	activeFrom := now.Add(pki.RolloverActivation)
	if newest.NotAfter.Before(activeFrom) {
		activeFrom = newest.NotAfter
	}
	err = a.store.Tx(ctx, func(q store.Queries) error {
		_, err := a.createTenantCA(ctx, q, t, newest.Generation+1, activeFrom)
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		return false, nil // another replica made this generation
	}
	if err != nil {
		return false, fmt.Errorf("authority: rollover tenant %s: %w", t.ID, err)
	}
	return true, nil
}
