package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

func (q *queries) PutCA(ctx context.Context, ca store.CA) error {
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO cas (id, kind, tenant_id, generation, key_id, cert_der,
			not_before, not_after, active_from, revoked_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		ca.ID, string(ca.Kind), ca.TenantID, int64(ca.Generation), ca.KeyID, blob(ca.CertDER),
		micros(ca.NotBefore), micros(ca.NotAfter), micros(ca.ActiveFrom),
		micros(ca.RevokedAt), micros(ca.CreatedAt))
	if err != nil {
		return q.fail(err, "put ca %q", ca.ID)
	}
	return nil
}

const caCols = `id, kind, tenant_id, generation, key_id, cert_der,
	not_before, not_after, active_from, revoked_at, created_at`

func scanCA(s scanner) (store.CA, error) {
	var ca store.CA
	err := s.Scan(&ca.ID, &ca.Kind, &ca.TenantID, &ca.Generation, &ca.KeyID,
		bytesCol{&ca.CertDER}, timeCol{&ca.NotBefore}, timeCol{&ca.NotAfter},
		timeCol{&ca.ActiveFrom}, timeCol{&ca.RevokedAt}, timeCol{&ca.CreatedAt})
	return ca, err
}

func (q *queries) GetCA(ctx context.Context, id string) (store.CA, error) {
	row := q.q.QueryRowContext(ctx, `SELECT `+caCols+` FROM cas WHERE id = $1`, id)
	ca, err := scanCA(row)
	if err != nil {
		return store.CA{}, q.fail(err, "get ca %q", id)
	}
	return ca, nil
}

func (q *queries) ListCAs(ctx context.Context, kind store.CAKind,
	tenantID string) ([]store.CA, error) {
	cas, err := list(ctx, q.q, scanCA,
		`SELECT `+caCols+` FROM cas WHERE kind = $1 AND tenant_id = $2 ORDER BY generation`,
		string(kind), tenantID)
	if err != nil {
		return nil, q.fail(err, "list %s cas", kind)
	}
	return cas, nil
}

// RevokeCA marks the CA revoked at the given time. A CA revoked already
// keeps its first revocation time.
func (q *queries) RevokeCA(ctx context.Context, id string, at time.Time) error {
	if at.IsZero() {
		return fmt.Errorf("store: revoke ca %q: zero time", id)
	}
	n, err := affected(q.q.ExecContext(ctx,
		`UPDATE cas SET revoked_at = $2 WHERE id = $1 AND revoked_at = 0`, id, micros(at)))
	if err != nil || n == 1 {
		return q.failIf(err, "revoke ca %q", id)
	}
	var one int
	err = q.q.QueryRowContext(ctx, `SELECT 1 FROM cas WHERE id = $1`, id).Scan(&one)
	return q.failIf(err, "revoke ca %q", id)
}

func (q *queries) PutCert(ctx context.Context, c store.Cert) error {
	if len(c.Serial) == 0 {
		return fmt.Errorf("store: put cert of issuer %q: empty serial", c.IssuerID)
	}
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO certs (issuer_id, serial, kind, subject, device_id, tenant_id,
			not_before, not_after, cert_der, revoked_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.IssuerID, c.Serial, c.Kind, c.Subject, c.DeviceID, c.TenantID,
		micros(c.NotBefore), micros(c.NotAfter), blob(c.CertDER),
		micros(c.RevokedAt), micros(c.CreatedAt))
	if err != nil {
		return q.fail(err, "put cert %x of issuer %q", c.Serial, c.IssuerID)
	}
	return nil
}

const certCols = `issuer_id, serial, kind, subject, device_id, tenant_id,
	not_before, not_after, cert_der, revoked_at, created_at`

func scanCert(s scanner) (store.Cert, error) {
	var c store.Cert
	err := s.Scan(&c.IssuerID, bytesCol{&c.Serial}, &c.Kind, &c.Subject, &c.DeviceID,
		&c.TenantID, timeCol{&c.NotBefore}, timeCol{&c.NotAfter}, bytesCol{&c.CertDER},
		timeCol{&c.RevokedAt}, timeCol{&c.CreatedAt})
	return c, err
}

func (q *queries) GetCert(ctx context.Context, issuerID string,
	serial []byte) (store.Cert, error) {
	row := q.q.QueryRowContext(ctx,
		`SELECT `+certCols+` FROM certs WHERE issuer_id = $1 AND serial = $2`,
		issuerID, blob(serial))
	c, err := scanCert(row)
	if err != nil {
		return store.Cert{}, q.fail(err, "get cert %x of issuer %q", serial, issuerID)
	}
	return c, nil
}

// ListRevokedCerts orders by serial as numbers: serials have no leading
// zeros, so a shorter one is smaller.
func (q *queries) ListRevokedCerts(ctx context.Context, issuerID string,
	now time.Time) ([]store.Cert, error) {
	cs, err := list(ctx, q.q, scanCert,
		`SELECT `+certCols+` FROM certs
		WHERE issuer_id = $1 AND revoked_at <> 0 AND not_after > $2
		ORDER BY length(serial), serial`,
		issuerID, micros(now))
	if err != nil {
		return nil, q.fail(err, "list revoked certs of issuer %q", issuerID)
	}
	return cs, nil
}

func (q *queries) RevokeDeviceCerts(ctx context.Context, deviceID string,
	at time.Time) (int, error) {
	if deviceID == "" {
		return 0, errors.New("store: revoke device certs: empty device id")
	}
	if at.IsZero() {
		return 0, fmt.Errorf("store: revoke certs of device %q: zero time", deviceID)
	}
	n, err := affected(q.q.ExecContext(ctx,
		`UPDATE certs SET revoked_at = $2
		WHERE (issuer_id, serial) IN (
			SELECT issuer_id, serial FROM issuances WHERE device_id = $1)
		AND revoked_at = 0 AND not_after > $2`,
		deviceID, micros(at)))
	if err != nil {
		return 0, q.fail(err, "revoke certs of device %q", deviceID)
	}
	return int(n), nil
}

func (q *queries) PutCRL(ctx context.Context, c store.CRL) error {
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO crls (issuer_id, number, this_update, next_update, der)
		VALUES ($1, $2, $3, $4, $5)`,
		c.IssuerID, c.Number, micros(c.ThisUpdate), micros(c.NextUpdate), blob(c.DER))
	if err != nil {
		return q.fail(err, "put crl %d of issuer %q", c.Number, c.IssuerID)
	}
	return nil
}

func (q *queries) LatestCRL(ctx context.Context, issuerID string) (store.CRL, error) {
	var c store.CRL
	err := q.q.QueryRowContext(ctx,
		`SELECT issuer_id, number, this_update, next_update, der FROM crls
		WHERE issuer_id = $1 ORDER BY number DESC LIMIT 1`, issuerID,
	).Scan(&c.IssuerID, &c.Number, timeCol{&c.ThisUpdate}, timeCol{&c.NextUpdate},
		bytesCol{&c.DER})
	if err != nil {
		return store.CRL{}, q.fail(err, "latest crl of issuer %q", issuerID)
	}
	return c, nil
}
