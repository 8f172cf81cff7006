package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/store"
)

// MaxBatchLines is the most device IDs one batch may hold.
const MaxBatchLines = 50000

// Errors of Service methods.
var (
	// ErrNotFound means the device is not registered.
	ErrNotFound = errors.New("device not registered")
	// ErrBatch means the batch as a whole is unusable: empty, too large, or
	// without the columns it needs. The error wraps the cause from
	// ParseBatch.
	ErrBatch = errors.New("invalid batch")
)

// BatchError lists the invalid lines of a refused batch.
type BatchError struct {
	Errors []LineError // the first invalid lines, in order
	More   int         // how many more lines are invalid
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("registry: %d invalid lines in batch", len(e.Errors)+e.More)
}

// Service registers, lists and blocks devices.
type Service struct {
	store store.Store
	now   func() time.Time
}

// NewService returns a Service with the clock now.
func NewService(s store.Store, now func() time.Time) *Service {
	return &Service{store: s, now: now}
}

// Result tells what a batch import did.
type Result struct {
	Received int // device IDs in the batch, without duplicates
	Created  int // newly registered
	Existing int // registered before
}

// Import parses a batch of the media type and registers its device IDs, all
// or nothing: a batch with an invalid line fails with a *BatchError and
// registers nothing. Registering an ID again changes nothing, so a batch can
// be sent again safely.
func (s *Service) Import(ctx context.Context, r io.Reader, contentType string) (Result, error) {
	format, err := ParseFormat(contentType)
	if err != nil {
		return Result{}, err
	}
	b, err := ParseBatch(r, format, MaxBatchLines)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrBatch, err)
	}
	if len(b.Errors) > 0 {
		return Result{}, &BatchError{Errors: b.Errors, More: b.MoreErrors}
	}
	ids := make([]string, len(b.IDs))
	for i, id := range b.IDs {
		ids[i] = id.String()
	}
	res := Result{Received: len(ids)}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		now := s.now()
		n, err := q.RegisterDevices(ctx, ids, now)
		if err != nil {
			return fmt.Errorf("registry: register %d devices: %w", len(ids), err)
		}
		res.Created, res.Existing = n, len(ids)-n
		return audit.Record(ctx, q, now, "device.register", fmt.Sprintf("%d devices", len(ids)),
			map[string]int{"received": len(ids), "created": n})
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// Get returns a device.
func (s *Service) Get(ctx context.Context, id deviceid.ID) (store.Device, error) {
	d, err := s.store.GetDevice(ctx, id.String())
	if errors.Is(err, store.ErrNotFound) {
		return store.Device{}, ErrNotFound
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("registry: get %s: %w", id, err)
	}
	return d, nil
}

// List returns devices by ID.
func (s *Service) List(ctx context.Context, f store.DeviceFilter) ([]store.Device, error) {
	ds, err := s.store.ListDevices(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("registry: list: %w", err)
	}
	return ds, nil
}

// SetBlocked blocks or unblocks a device. Blocking also revokes the device's
// current certificates, so they appear on its tenant CA's CRL; unblocking
// does not restore them: the device attests again for a new one.
func (s *Service) SetBlocked(ctx context.Context, id deviceid.ID, blocked bool) (store.Device,
	error) {
	var d store.Device
	err := s.store.Tx(ctx, func(q store.Queries) error {
		now := s.now()
		err := q.SetDeviceBlocked(ctx, id.String(), blocked, now)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("registry: block %s: %w", id, err)
		}
		action, revoked := "device.unblock", 0
		if blocked {
			action = "device.block"
			if revoked, err = q.RevokeDeviceCerts(ctx, id.String(), now); err != nil {
				return fmt.Errorf("registry: revoke certificates of %s: %w", id, err)
			}
		}
		if d, err = q.GetDevice(ctx, id.String()); err != nil {
			return fmt.Errorf("registry: get %s: %w", id, err)
		}
		return audit.Record(ctx, q, now, action, id.String(),
			map[string]int{"revoked_certificates": revoked})
	})
	return d, err
}
