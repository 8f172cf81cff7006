package authority

import (
	"context"
	"sync"
	"time"

	"github.com/hallmark-project/hallmark/internal/pki"
)

// activeTTL is how long ActiveIssuer trusts what it last read. A rollover's
// new CA is therefore used at most this long after it becomes active, while
// the old one is still valid.
const activeTTL = 30 * time.Second

// activeCache remembers each tenant's active CA with a signer.
type activeCache struct {
	mu      sync.Mutex
	entries map[string]activeEntry // by tenant ID; guarded by mu
}

type activeEntry struct {
	ca      TenantCA
	issuer  pki.Issuer
	expires time.Time
}

// ActiveIssuer returns the tenant's active CA, ready to sign. It caches the
// answer for a short while, as the CA engine calls it for every certificate.
func (a *Authority) ActiveIssuer(ctx context.Context, tenantID string) (TenantCA, pki.Issuer,
	error) {
	now := a.Now()
	a.active.mu.Lock()
	e, ok := a.active.entries[tenantID]
	a.active.mu.Unlock()
	if ok && now.Before(e.expires) && now.Before(e.ca.NotAfter) {
		return e.ca, e.issuer, nil
	}

	ca, err := a.ActiveTenantCA(ctx, tenantID)
	if err != nil {
		return TenantCA{}, pki.Issuer{}, err
	}
	iss, err := a.issuer(ctx, a.store, ca.CA)
	if err != nil {
		return TenantCA{}, pki.Issuer{}, err
	}
	a.active.mu.Lock()
	if a.active.entries == nil {
		a.active.entries = make(map[string]activeEntry)
	}
	a.active.entries[tenantID] = activeEntry{ca: ca, issuer: iss, expires: now.Add(activeTTL)}
	a.active.mu.Unlock()
	return ca, iss, nil
}
