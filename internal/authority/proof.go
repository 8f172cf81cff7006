package authority

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
)

// IssueProof signs, through q, a proof-of-possession certificate whose
// subject CN is the verification code, with a tenant CA found by
// FindTenantCA. The CA must not be expired or revoked; a CA that is next or
// retiring during a rollover may sign, so that a provisioning service can
// verify either CA of the overlap. lifetime 0 means pki.MaxProofLifetime.
func (a *Authority) IssueProof(ctx context.Context, q store.Queries, ca TenantCA, code string,
	lifetime time.Duration) ([]byte, error) {
	if ca.State == StateExpired || ca.State == StateRevoked {
		return nil, fmt.Errorf("authority: CA %s is %s: %w", ca.Thumbprint, ca.State,
			ErrNoActiveCA)
	}
	iss, err := a.issuer(ctx, q, ca.CA)
	if err != nil {
		return nil, err
	}
	rec := store.Cert{Kind: store.CertProof, Subject: code, TenantID: ca.TenantID}
	der, _, err := a.sign(ctx, q, ca.ID, rec, func(serial *big.Int) ([]byte, error) {
		return pki.CreateProof(iss, code, serial, a.Now(), lifetime)
	})
	if err != nil {
		return nil, fmt.Errorf("authority: proof for tenant %s: %w", ca.TenantID, err)
	}
	return der, nil
}
