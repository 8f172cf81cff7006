package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

// registerChunk is how many devices one INSERT registers.
const registerChunk = 500

// RegisterDevices inserts the IDs in sorted order, so that concurrent calls
// with overlapping IDs take row locks in the same order and cannot deadlock.
func (q *queries) RegisterDevices(ctx context.Context, ids []string,
	at time.Time) (int, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) > 0 && ids[0] == "" {
		return 0, errors.New("store: register devices: empty device id")
	}
	if len(ids) == 0 {
		return 0, nil
	}
	if q.db == nil {
		return q.registerDevices(ctx, ids, at)
	}

	var n int
	err := runTx(ctx, q.db, q.d, func(tq *queries) error {
		var err error
		n, err = tq.registerDevices(ctx, ids, at)
		return err
	})
	return n, err
}

// registerDevices inserts sorted, distinct ids in chunks.
func (q *queries) registerDevices(ctx context.Context, ids []string,
	at time.Time) (int, error) {
	total := 0
	for len(ids) > 0 {
		chunk := ids[:min(registerChunk, len(ids))]
		ids = ids[len(chunk):]

		var b strings.Builder
		b.WriteString(`INSERT INTO devices (id, registered_at) VALUES `)
		args := make([]any, 0, len(chunk)+1)
		args = append(args, micros(at))
		for i, id := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "($%d, $1)", i+2)
			args = append(args, id)
		}
		b.WriteString(` ON CONFLICT (id) DO NOTHING`)

		n, err := affected(q.q.ExecContext(ctx, b.String(), args...))
		if err != nil {
			return 0, q.fail(err, "register %d devices from %q", len(chunk), chunk[0])
		}
		total += int(n)
	}
	return total, nil
}

// deviceCols are a device's columns, with its last attestation: the newest
// of its issuances, joined by deviceFrom.
const deviceCols = `d.id, d.registered_at, d.blocked, d.blocked_at, d.tenant_id,
	d.claimed_at, COALESCE(i.created_at, 0), COALESCE(i.verdict, ''),
	COALESCE(i.software, ''), COALESCE(i.not_after, 0)`

// deviceFrom is the FROM clause of deviceCols. The newest issuance is one
// step back along the index issuances_device. The join and the subquery
// both name the device and the index's order, so that PostgreSQL takes
// that index: given max(seq), or the join on seq alone, it walked the
// primary key back through the newer issuances of every other device.
const deviceFrom = ` FROM devices d LEFT JOIN issuances i
	ON i.device_id = d.id AND i.seq = (SELECT seq FROM issuances WHERE device_id = d.id
		ORDER BY device_id DESC, seq DESC LIMIT 1)`

func scanDevice(s scanner) (store.Device, error) {
	var d store.Device
	err := s.Scan(&d.ID, timeCol{&d.RegisteredAt}, &d.Blocked, timeCol{&d.BlockedAt},
		&d.TenantID, timeCol{&d.ClaimedAt}, timeCol{&d.LastAttestedAt}, &d.LastVerdict,
		&d.LastSoftware, timeCol{&d.CertNotAfter})
	return d, err
}

func (q *queries) GetDevice(ctx context.Context, id string) (store.Device, error) {
	row := q.q.QueryRowContext(ctx, `SELECT `+deviceCols+deviceFrom+` WHERE d.id = $1`, id)
	d, err := scanDevice(row)
	if err != nil {
		return store.Device{}, q.fail(err, "get device %q", id)
	}
	return d, nil
}

// SetDeviceBlocked sets BlockedAt only when the state changes: blocking a
// blocked device keeps the time it was first blocked.
func (q *queries) SetDeviceBlocked(ctx context.Context, id string, blocked bool,
	at time.Time) error {
	n, err := affected(q.q.ExecContext(ctx,
		`UPDATE devices SET blocked = $2, blocked_at = $3 WHERE id = $1 AND blocked <> $2`,
		id, blocked, micros(at)))
	if err != nil || n == 1 {
		return q.failIf(err, "set device %q blocked", id)
	}
	var one int
	err = q.q.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE id = $1`, id).Scan(&one)
	return q.failIf(err, "set device %q blocked", id)
}

// ClaimDevice claims with one conditional UPDATE, which the database
// serialises, and reads the row only to tell why it did not claim. Nothing
// unclaims a device, so the owner the read finds is the one that stopped
// the UPDATE.
func (q *queries) ClaimDevice(ctx context.Context, id, tenantID string,
	at time.Time) (bool, error) {
	if tenantID == "" {
		return false, fmt.Errorf("store: claim device %q: empty tenant id", id)
	}
	n, err := affected(q.q.ExecContext(ctx,
		`UPDATE devices SET tenant_id = $2, claimed_at = $3 WHERE id = $1 AND tenant_id = ''`,
		id, tenantID, micros(at)))
	if err != nil {
		return false, q.fail(err, "claim device %q", id)
	}
	if n == 1 {
		return true, nil
	}

	var owner string
	err = q.q.QueryRowContext(ctx, `SELECT tenant_id FROM devices WHERE id = $1`, id).Scan(&owner)
	switch {
	case err != nil:
		return false, q.fail(err, "claim device %q", id)
	case owner == tenantID:
		return false, nil
	case owner == "":
		// Registered after the UPDATE looked: it was not registered when
		// the claim took effect.
		return false, fmt.Errorf("store: claim device %q: %w", id, store.ErrNotFound)
	}
	return false, fmt.Errorf("store: claim device %q: %w", id, store.ErrConflict)
}

func (q *queries) ListDevices(ctx context.Context, f store.DeviceFilter) ([]store.Device, error) {
	n, err := limit(f.Limit, 1000)
	if err != nil {
		return nil, fmt.Errorf("store: list devices: %w", err)
	}
	query := `SELECT ` + deviceCols + deviceFrom + ` WHERE d.id > $1`
	args := []any{f.After}
	if f.TenantID != "" {
		query += ` AND d.tenant_id = $2`
		args = append(args, f.TenantID)
	}
	query += fmt.Sprintf(` ORDER BY d.id LIMIT $%d`, len(args)+1)
	args = append(args, int64(n))

	ds, err := list(ctx, q.q, scanDevice, query, args...)
	if err != nil {
		return nil, q.fail(err, "list devices")
	}
	return ds, nil
}
