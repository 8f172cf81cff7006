package authority

import (
	"context"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
)

// Bootstrap creates the root and the intermediate if they do not exist. It
// reports whether it created them. Two processes bootstrapping one store at
// once do not both succeed: the loser gets an error wrapping
// store.ErrConflict and should retry after the winner has committed.
func (a *Authority) Bootstrap(ctx context.Context) (bool, error) {
	if _, err := a.Intermediate(ctx, a.store); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotInitialized) {
		return false, err
	}
	err := a.store.Tx(ctx, func(q store.Queries) error {
		root, err := a.createRoot(ctx, q)
		if err != nil {
			return err
		}
		return a.createIntermediate(ctx, q, root)
	})
	if err != nil {
		return false, fmt.Errorf("authority: bootstrap: %w", err)
	}
	return true, nil
}

func (a *Authority) createRoot(ctx context.Context, q store.Queries) (store.CA, error) {
	keyID, signer, err := a.newKey(ctx, q, elliptic.P384())
	if err != nil {
		return store.CA{}, err
	}
	id, err := a.newID()
	if err != nil {
		return store.CA{}, err
	}
	now := a.Now()
	serial, err := pki.NewSerial(a.rand)
	if err != nil {
		return store.CA{}, fmt.Errorf("authority: new serial: %w", err)
	}
	der, err := pki.CreateRoot(signer, serial, a.org, now)
	if err != nil {
		return store.CA{}, fmt.Errorf("authority: create root: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return store.CA{}, fmt.Errorf("authority: parse root: %w", err)
	}
	ca := store.CA{
		ID: id, Kind: store.KindRoot, Generation: 1, KeyID: keyID, CertDER: der,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, ActiveFrom: cert.NotBefore,
		CreatedAt: now,
	}
	if err := q.PutCA(ctx, ca); err != nil {
		return store.CA{}, fmt.Errorf("authority: record root: %w", err)
	}
	return ca, nil
}

func (a *Authority) createIntermediate(ctx context.Context, q store.Queries, root store.CA) error {
	rootIss, err := a.issuer(ctx, q, root)
	if err != nil {
		return err
	}
	keyID, signer, err := a.newKey(ctx, q, elliptic.P384())
	if err != nil {
		return err
	}
	id, err := a.newID()
	if err != nil {
		return err
	}
	now := a.Now()
	rec := store.Cert{Kind: store.CertCA, Subject: "Hallmark Intermediate CA"}
	der, cert, err := a.sign(ctx, q, root.ID, rec, func(serial *big.Int) ([]byte, error) {
		return pki.CreateIntermediate(rootIss, signer.Public(), serial, a.org, now)
	})
	if err != nil {
		return fmt.Errorf("authority: create intermediate: %w", err)
	}
	ca := store.CA{
		ID: id, Kind: store.KindIntermediate, Generation: 1, KeyID: keyID, CertDER: der,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, ActiveFrom: cert.NotBefore,
		CreatedAt: now,
	}
	if err := q.PutCA(ctx, ca); err != nil {
		return fmt.Errorf("authority: record intermediate: %w", err)
	}
	return nil
}

// Root returns the root CA.
func (a *Authority) Root(ctx context.Context, q store.Queries) (store.CA, error) {
	return latest(ctx, q, store.KindRoot)
}

// Intermediate returns the intermediate CA that signs tenant CAs. Once
// found it is kept: the intermediate does not roll over, and the CA engine
// asks for it with every certificate.
func (a *Authority) Intermediate(ctx context.Context, q store.Queries) (store.CA, error) {
	if ca := a.inter.Load(); ca != nil {
		return *ca, nil
	}
	ca, err := latest(ctx, q, store.KindIntermediate)
	if err != nil {
		return store.CA{}, err
	}
	a.inter.Store(&ca)
	return ca, nil
}

func latest(ctx context.Context, q store.Queries, kind store.CAKind) (store.CA, error) {
	cas, err := q.ListCAs(ctx, kind, "")
	if err != nil {
		return store.CA{}, fmt.Errorf("authority: list %s CAs: %w", kind, err)
	}
	if len(cas) == 0 {
		return store.CA{}, ErrNotInitialized
	}
	return cas[len(cas)-1], nil
}

// Check verifies that the intermediate's key can be used, for readiness.
func (a *Authority) Check(ctx context.Context) error {
	inter, err := a.Intermediate(ctx, a.store)
	if err != nil {
		return err
	}
	if _, err := a.signer(ctx, a.store, inter.KeyID); err != nil {
		return err
	}
	return a.keys.Check(ctx)
}
