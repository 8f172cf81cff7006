package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

func (q *queries) PutNonce(ctx context.Context, n store.Nonce) error {
	switch {
	case len(n.Value) == 0:
		return errors.New("store: put nonce: empty value")
	case n.DeviceID == "":
		return errors.New("store: put nonce: empty device id")
	case n.ExpiresAt.IsZero():
		return fmt.Errorf("store: put nonce for device %q: zero expiry", n.DeviceID)
	}
	// The device is checked in the statement, so a challenge takes one
	// round trip, and a device blocked meanwhile gets no nonce.
	put, err := affected(q.q.ExecContext(ctx,
		`INSERT INTO nonces (value, device_id, created_at, expires_at, consumed_at)
		SELECT $1, id, $3, $4, $5 FROM devices WHERE id = $2 AND NOT blocked`,
		n.Value, n.DeviceID, micros(n.CreatedAt), micros(n.ExpiresAt), micros(n.ConsumedAt)))
	switch {
	case err != nil:
		return q.fail(err, "put nonce for device %q", n.DeviceID)
	case put == 0:
		return fmt.Errorf("store: put nonce for device %q: no such device, or blocked: %w",
			n.DeviceID, store.ErrNotFound)
	}
	return nil
}

const nonceCols = `value, device_id, created_at, expires_at, consumed_at`

func scanNonce(s scanner) (store.Nonce, error) {
	var n store.Nonce
	err := s.Scan(bytesCol{&n.Value}, &n.DeviceID, timeCol{&n.CreatedAt},
		timeCol{&n.ExpiresAt}, timeCol{&n.ConsumedAt})
	return n, err
}

// unblockedHead and unblockedTail enclose the placeholder of a device ID in
// the condition, in a nonce's UPDATE, that the device is not blocked.
const (
	unblockedHead = `AND NOT EXISTS (SELECT 1 FROM devices WHERE id = `
	unblockedTail = ` AND blocked)`
)

// deviceBlocked reports whether the device is blocked; false if there is
// no such device.
func (q *queries) deviceBlocked(ctx context.Context, id string) (bool, error) {
	var blocked bool
	err := q.q.QueryRowContext(ctx, `SELECT blocked FROM devices WHERE id = $1`,
		id).Scan(&blocked)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return blocked, err
}

// ConsumeNonce consumes with one conditional UPDATE, which the database
// serialises on the nonce's row, and reads the row only to tell why it did
// not consume: a nonce succeeds once in one round trip. On PostgreSQL an
// UPDATE of a row that an open transaction consumed waits for that
// transaction to end; outside Tx that is one statement's time.
func (q *queries) ConsumeNonce(ctx context.Context, value []byte, deviceID string,
	now time.Time) (store.Nonce, error) {
	at := micros(now)
	if at == 0 {
		// A consumption at 0 would leave the nonce unused.
		return store.Nonce{}, fmt.Errorf("store: consume nonce of device %q: zero time",
			deviceID)
	}
	n := store.Nonce{Value: bytes.Clone(value)}
	err := q.q.QueryRowContext(ctx,
		`UPDATE nonces SET consumed_at = $3
		WHERE value = $1 AND device_id = $2 AND consumed_at = 0 AND expires_at > $3
		`+unblockedHead+`$2`+unblockedTail+`
		RETURNING device_id, created_at, expires_at`,
		blob(value), deviceID, at,
	).Scan(&n.DeviceID, timeCol{&n.CreatedAt}, timeCol{&n.ExpiresAt})
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return store.Nonce{}, q.fail(err, "consume nonce of device %q", deviceID)
	}
	return q.explainNonce(ctx, value, deviceID, at)
}

// explainNonce reads the device and the nonce that a consumption at the
// time at did not spend, and returns why as ConsumeNonce does.
func (q *queries) explainNonce(ctx context.Context, value []byte, deviceID string,
	at int64) (store.Nonce, error) {
	blocked, err := q.deviceBlocked(ctx, deviceID)
	switch {
	case err != nil:
		return store.Nonce{}, q.fail(err, "consume nonce of device %q", deviceID)
	case blocked:
		return store.Nonce{}, fmt.Errorf("store: consume nonce of device %q: %w",
			deviceID, store.ErrBlocked)
	}
	row := q.q.QueryRowContext(ctx, `SELECT `+nonceCols+` FROM nonces WHERE value = $1`,
		blob(value))
	n, err := scanNonce(row)
	if err != nil {
		return store.Nonce{}, q.fail(err, "consume nonce of device %q", deviceID)
	}
	var why string
	switch {
	case n.DeviceID != deviceID:
		why = "issued to another device"
	case !n.ConsumedAt.IsZero():
		why = "used already"
	case micros(n.ExpiresAt) <= at:
		why = "expired"
	default:
		// Put after the UPDATE looked: it did not exist when the
		// consumption took effect.
		return store.Nonce{}, fmt.Errorf("store: consume nonce of device %q: %w",
			deviceID, store.ErrNotFound)
	}
	return n, fmt.Errorf("store: consume nonce of device %q: %s: %w",
		deviceID, why, store.ErrConflict)
}

// DeleteNonces deletes in one statement: on SQLite a large backlog holds
// the write lock for the whole delete.
func (q *queries) DeleteNonces(ctx context.Context, expiredBefore time.Time) (int, error) {
	if expiredBefore.IsZero() {
		return 0, errors.New("store: delete nonces: zero time")
	}
	n, err := affected(q.q.ExecContext(ctx,
		`DELETE FROM nonces WHERE expires_at < $1`, micros(expiredBefore)))
	if err != nil {
		return 0, q.fail(err, "delete nonces")
	}
	return int(n), nil
}

func (q *queries) PutCatalogue(ctx context.Context, c store.Catalogue) error {
	if c.Version <= 0 {
		return fmt.Errorf("store: put catalogue: version %d is not positive", c.Version)
	}
	_, err := q.q.ExecContext(ctx,
		`INSERT INTO catalogues (version, document, created_at, token_id)
		VALUES ($1, $2, $3, $4)`,
		c.Version, blob(c.Document), micros(c.CreatedAt), c.TokenID)
	if err != nil {
		return q.fail(err, "put catalogue %d", c.Version)
	}
	return nil
}

func (q *queries) LatestCatalogue(ctx context.Context) (store.Catalogue, error) {
	var c store.Catalogue
	err := q.q.QueryRowContext(ctx,
		`SELECT version, document, created_at, token_id FROM catalogues
		ORDER BY version DESC LIMIT 1`,
	).Scan(&c.Version, bytesCol{&c.Document}, timeCol{&c.CreatedAt}, &c.TokenID)
	if err != nil {
		return store.Catalogue{}, q.fail(err, "latest catalogue")
	}
	return c, nil
}

const issuanceCols = `issuer_id, serial, tenant_id, device_id, not_before, not_after,
	cert_digest, evidence_digest, verdict, catalogue_version, software, created_at`

// issuanceArgs are the values of issuanceCols, $1 to $12.
func issuanceArgs(i store.Issuance) []any {
	return []any{i.IssuerID, i.Serial, i.TenantID, i.DeviceID,
		micros(i.NotBefore), micros(i.NotAfter), blob(i.CertDigest), blob(i.EvidenceDigest),
		i.Verdict, i.CatalogueVersion, i.Software, micros(i.CreatedAt)}
}

// insertIssuance inserts the issuance of issuanceArgs if its device is
// claimed by its tenant; the dialect's ShareLock follows.
const insertIssuance = `INSERT INTO issuances (` + issuanceCols + `)
	SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12
	FROM devices WHERE id = $4 AND tenant_id = $3`

// PutIssuance writes in one statement, which reads the device's claim and,
// where the database can, locks it until the transaction ends. It ignores
// i.Seq.
func (q *queries) PutIssuance(ctx context.Context, i store.Issuance) error {
	switch {
	case i.DeviceID == "":
		return errors.New("store: put issuance: empty device id")
	case i.TenantID == "":
		return fmt.Errorf("store: put issuance for device %q: empty tenant id", i.DeviceID)
	case len(i.Serial) == 0:
		return fmt.Errorf("store: put issuance for device %q: empty serial", i.DeviceID)
	case i.CreatedAt.IsZero():
		// The device's LastAttestedAt would read as never.
		return fmt.Errorf("store: put issuance for device %q: zero time", i.DeviceID)
	}
	n, err := affected(q.q.ExecContext(ctx, insertIssuance+q.d.ShareLock,
		issuanceArgs(i)...))
	return q.issuanceDone(n, err, i)
}

// issuanceDone turns the outcome of a put issuance, the rows it wrote and
// its error, into the error to return.
func (q *queries) issuanceDone(n int64, err error, i store.Issuance) error {
	switch {
	case err != nil:
		return q.fail(err, "put issuance %x for device %q", i.Serial, i.DeviceID)
	case n == 0:
		return fmt.Errorf("store: put issuance %x: device %q of tenant %q: %w",
			i.Serial, i.DeviceID, i.TenantID, store.ErrNotFound)
	}
	return nil
}

func scanIssuance(s scanner) (store.Issuance, error) {
	var i store.Issuance
	err := s.Scan(&i.Seq, &i.IssuerID, bytesCol{&i.Serial}, &i.TenantID, &i.DeviceID,
		timeCol{&i.NotBefore}, timeCol{&i.NotAfter}, bytesCol{&i.CertDigest},
		bytesCol{&i.EvidenceDigest}, &i.Verdict, &i.CatalogueVersion, &i.Software,
		timeCol{&i.CreatedAt})
	return i, err
}

func (q *queries) ListIssuances(ctx context.Context,
	f store.IssuanceFilter) ([]store.Issuance, error) {
	n, err := limit(f.Limit, 100)
	if err != nil {
		return nil, fmt.Errorf("store: list issuances: %w", err)
	}
	if f.Before < 0 {
		return nil, fmt.Errorf("store: list issuances: negative bound %d", f.Before)
	}

	var conds []string
	args := []any{int64(n)}
	where := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if f.Before > 0 {
		where(`seq < $%d`, f.Before)
	}
	if f.TenantID != "" {
		where(`tenant_id = $%d`, f.TenantID)
	}
	if f.DeviceID != "" {
		where(`device_id = $%d`, f.DeviceID)
	}
	query := `SELECT seq, ` + issuanceCols + ` FROM issuances`
	if len(conds) > 0 {
		query += ` WHERE ` + strings.Join(conds, ` AND `)
	}

	is, err := list(ctx, q.q, scanIssuance, query+` ORDER BY seq DESC LIMIT $1`, args...)
	if err != nil {
		return nil, q.fail(err, "list issuances")
	}
	return is, nil
}

// RecordAttestation spends the nonce alone with ConsumeNonce. With a
// certificate it writes in one statement where the database can
// ([Dialect].WritesInWith); else in sequence, in a transaction of its own
// when it is not called inside Tx.
func (q *queries) RecordAttestation(ctx context.Context, a store.Attestation) (store.Nonce,
	error) {
	if (a.Cert == nil) != (a.Issuance == nil) {
		return store.Nonce{}, fmt.Errorf(
			"store: record attestation of device %q: certificate without issuance, or "+
				"issuance without certificate", a.DeviceID)
	}
	if a.Cert == nil {
		return q.ConsumeNonce(ctx, a.Nonce, a.DeviceID, a.At)
	}
	if err := checkAttestation(a); err != nil {
		return store.Nonce{}, err
	}
	switch {
	case q.d.WritesInWith:
		return q.recordWith(ctx, a)
	case q.db == nil:
		return q.record(ctx, a)
	}
	return recordIn(ctx, a, func(fn func(q *queries) error) error {
		return runTx(ctx, q.db, q.d, fn)
	})
}

// recordIn runs record in a transaction of run. It commits the nonce that
// record spent for a device that left the tenant, and then returns
// ErrUnclaimed.
func recordIn(ctx context.Context, a store.Attestation,
	run func(fn func(q *queries) error) error) (store.Nonce, error) {
	var n store.Nonce
	var left error
	err := run(func(q *queries) error {
		var err error
		n, err = q.record(ctx, a)
		if errors.Is(err, store.ErrUnclaimed) {
			left = err
			return nil
		}
		return err
	})
	if err == nil {
		err = left
	}
	return n, err
}

// checkAttestation checks what the database would not: that the
// certificate and its issuance are one device's, and the issuance as
// PutIssuance does.
func checkAttestation(a store.Attestation) error {
	c, i := a.Cert, a.Issuance
	switch {
	case c.DeviceID != a.DeviceID || i.DeviceID != a.DeviceID:
		return fmt.Errorf("store: record attestation of device %q: certificate of %q, "+
			"issuance of %q", a.DeviceID, c.DeviceID, i.DeviceID)
	case c.TenantID != i.TenantID:
		return fmt.Errorf("store: record attestation of device %q: certificate of tenant "+
			"%q, issuance of tenant %q", a.DeviceID, c.TenantID, i.TenantID)
	case len(c.Serial) == 0:
		return fmt.Errorf("store: record attestation of device %q: empty serial", a.DeviceID)
	case i.TenantID == "":
		return fmt.Errorf("store: record attestation of device %q: empty tenant id",
			a.DeviceID)
	case len(i.Serial) == 0:
		return fmt.Errorf("store: record attestation of device %q: empty issuance serial",
			a.DeviceID)
	case i.CreatedAt.IsZero():
		return fmt.Errorf("store: record attestation of device %q: zero time", a.DeviceID)
	}
	return nil
}

// unclaimed is the error of an attestation whose device left the tenant.
func unclaimed(a store.Attestation) error {
	return fmt.Errorf("store: record attestation of device %q for tenant %q: %w",
		a.DeviceID, a.Issuance.TenantID, store.ErrUnclaimed)
}

// record writes an accepted attestation in sequence on q, a transaction:
// the nonce, then the issuance if the device is still the tenant's, then
// the certificate. When the device has left the tenant it returns a zero
// Nonce and ErrUnclaimed, with the nonce spent: the caller commits that
// alone.
func (q *queries) record(ctx context.Context, a store.Attestation) (store.Nonce, error) {
	n, err := q.ConsumeNonce(ctx, a.Nonce, a.DeviceID, a.At)
	if err != nil {
		return n, err
	}
	done, err := affected(q.q.ExecContext(ctx, insertIssuance+q.d.ShareLock,
		issuanceArgs(*a.Issuance)...))
	switch {
	case err != nil:
		return store.Nonce{}, q.fail(err, "record attestation of device %q", a.DeviceID)
	case done == 0:
		return store.Nonce{}, unclaimed(a)
	}
	if err := q.PutCert(ctx, *a.Cert); err != nil {
		return store.Nonce{}, err
	}
	return n, nil
}

// recordWith writes an accepted attestation in one statement, one round
// trip: spend the nonce; if it was spent, lock the device's row if the
// device is still the tenant's and not blocked; if it was, insert the
// certificate and the issuance. The statement answers with the nonce,
// if spent, and whether the device's row was locked. A nonce spent for a device
// that left the tenant stays spent, as in record.
func (q *queries) recordWith(ctx context.Context, a store.Attestation) (store.Nonce, error) {
	c := a.Cert
	at := micros(a.At)
	if at == 0 {
		return store.Nonce{}, fmt.Errorf("store: consume nonce of device %q: zero time",
			a.DeviceID)
	}
	// $1 to $12 are the issuance's, as in insertIssuance; then the nonce
	// ($13, $14) and the certificate's own columns.
	args := append(issuanceArgs(*a.Issuance), blob(a.Nonce), at,
		c.IssuerID, c.Serial, c.Kind, c.Subject, c.TenantID, micros(c.NotBefore),
		micros(c.NotAfter), blob(c.CertDER), micros(c.RevokedAt), micros(c.CreatedAt))
	n := store.Nonce{Value: bytes.Clone(a.Nonce)}
	var set bool
	err := q.q.QueryRowContext(ctx,
		`WITH n AS (
			UPDATE nonces SET consumed_at = $14
			WHERE value = $13 AND device_id = $4 AND consumed_at = 0 AND expires_at > $14
			`+unblockedHead+`$4`+unblockedTail+`
			RETURNING device_id, created_at, expires_at
		), d AS (
			SELECT id FROM devices
			WHERE id = $4 AND tenant_id = $3 AND NOT blocked AND EXISTS (SELECT 1 FROM n)
			`+q.d.ShareLock+`
		), c AS (
			INSERT INTO certs (issuer_id, serial, kind, subject, device_id, tenant_id,
				not_before, not_after, cert_der, revoked_at, created_at)
			SELECT $15, $16, $17, $18, id, $19, $20, $21, $22, $23, $24 FROM d
		), i AS (
			INSERT INTO issuances (`+issuanceCols+`)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM d
		)
		SELECT device_id, created_at, expires_at, EXISTS (SELECT 1 FROM d) FROM n`,
		args...,
	).Scan(&n.DeviceID, timeCol{&n.CreatedAt}, timeCol{&n.ExpiresAt}, &set)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Nothing was written.
		return q.explainNonce(ctx, a.Nonce, a.DeviceID, at)
	case err != nil:
		return store.Nonce{}, q.fail(err, "record attestation of device %q", a.DeviceID)
	case !set:
		return store.Nonce{}, q.notSet(ctx, a)
	}
	return n, nil
}

// notSet is the error of an attestation whose nonce recordWith spent but
// whose device it did not set: the device was blocked, or left the tenant,
// while the statement ran.
func (q *queries) notSet(ctx context.Context, a store.Attestation) error {
	blocked, err := q.deviceBlocked(ctx, a.DeviceID)
	switch {
	case err != nil:
		return q.fail(err, "record attestation of device %q", a.DeviceID)
	case blocked:
		return fmt.Errorf("store: record attestation of device %q: %w", a.DeviceID,
			store.ErrBlocked)
	}
	return unclaimed(a)
}
