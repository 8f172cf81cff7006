// Package tenant manages tenants and the devices they claim.
//
// A tenant is a group of devices and an isolation boundary. The operator
// creates it; its CA is created in the same transaction, so a tenant never
// exists without one. A tenant claims a registered device once and for ever:
// a second claim by the same tenant changes nothing, a claim by any other
// tenant is refused.
//
// The package checks no roles: the admin API decides who may call what, and
// passes the caller's own tenant ID so that one tenant never reaches another's
// devices.
package tenant

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/authority"
	"github.com/hallmark-project/hallmark/internal/store"
)

// Errors that callers branch on.
var (
	ErrInvalidName = errors.New("tenant name must be 1 to 64 letters, digits, " +
		"inner spaces, '.', '_' or '-'")
	ErrNameTaken       = errors.New("a tenant with this name exists")
	ErrNotFound        = errors.New("tenant not found")
	ErrDeviceNotFound  = errors.New("device not registered")
	ErrClaimedByOther  = errors.New("device is claimed by another tenant")
	ErrInvalidTenantID = errors.New("invalid tenant ID")
)

// Service runs tenant operations on a store.
type Service struct {
	store store.Store
	ca    *authority.Authority
	rand  io.Reader
}

// NewService returns a Service. The authority's clock is the service's clock.
func NewService(s store.Store, ca *authority.Authority) *Service {
	return &Service{store: s, ca: ca, rand: rand.Reader}
}

func (s *Service) now() time.Time { return s.ca.Now() }

// ValidateName checks a tenant name.
func ValidateName(name string) error {
	if len(name) == 0 || len(name) > 64 || name[0] == ' ' || name[len(name)-1] == ' ' {
		return ErrInvalidName
	}
	for _, c := range []byte(name) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == ' ' || c == '.' || c == '_' || c == '-'
		if !ok {
			return ErrInvalidName
		}
	}
	return nil
}

// Create makes a tenant and its first CA.
func (s *Service) Create(ctx context.Context, name string) (store.Tenant, error) {
	if err := ValidateName(name); err != nil {
		return store.Tenant{}, err
	}
	id, err := newID(s.rand)
	if err != nil {
		return store.Tenant{}, err
	}
	t := store.Tenant{ID: id, Name: name, CreatedAt: s.now()}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateTenant(ctx, t); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrNameTaken
			}
			return fmt.Errorf("tenant: create %q: %w", name, err)
		}
		ca, err := s.ca.CreateTenantCA(ctx, q, t)
		if err != nil {
			return err
		}
		return audit.Record(ctx, q, t.CreatedAt, "tenant.create", t.ID,
			map[string]string{"name": name, "ca": ca.ID})
	})
	if err != nil {
		return store.Tenant{}, err
	}
	return t, nil
}

// Get returns a tenant.
func (s *Service) Get(ctx context.Context, id string) (store.Tenant, error) {
	if err := ValidateID(id); err != nil {
		return store.Tenant{}, ErrNotFound
	}
	t, err := s.store.GetTenant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Tenant{}, ErrNotFound
	}
	if err != nil {
		return store.Tenant{}, fmt.Errorf("tenant: get %s: %w", id, err)
	}
	return t, nil
}

// List returns every tenant by name.
func (s *Service) List(ctx context.Context) ([]store.Tenant, error) {
	ts, err := s.store.ListTenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenant: list: %w", err)
	}
	return ts, nil
}

// Claim binds a registered device to the tenant. It reports whether this
// call claimed it (false: the tenant had it already).
func (s *Service) Claim(ctx context.Context, tenantID string, id deviceid.ID) (bool, error) {
	var claimed bool
	err := s.store.Tx(ctx, func(q store.Queries) error {
		var err error
		now := s.now()
		claimed, err = q.ClaimDevice(ctx, id.String(), tenantID, now)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return ErrDeviceNotFound
		case errors.Is(err, store.ErrConflict):
			return ErrClaimedByOther
		case err != nil:
			return fmt.Errorf("tenant: claim device %s: %w", id, err)
		}
		return audit.Record(ctx, q, now, "device.claim", id.String(),
			map[string]any{"tenant": tenantID, "already_claimed": !claimed})
	})
	return claimed, err
}

// Device returns one of the tenant's devices. A device that is not the
// tenant's is ErrDeviceNotFound, whether or not it exists.
func (s *Service) Device(ctx context.Context, tenantID string, id deviceid.ID) (store.Device,
	error) {
	d, err := s.store.GetDevice(ctx, id.String())
	if errors.Is(err, store.ErrNotFound) || err == nil && d.TenantID != tenantID {
		return store.Device{}, ErrDeviceNotFound
	}
	if err != nil {
		return store.Device{}, fmt.Errorf("tenant: get device %s: %w", id, err)
	}
	return d, nil
}

// Devices lists the tenant's devices by ID, after the given ID, at most limit.
func (s *Service) Devices(ctx context.Context, tenantID, after string, limit int) (
	[]store.Device, error) {
	ds, err := s.store.ListDevices(ctx, store.DeviceFilter{TenantID: tenantID, After: after,
		Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("tenant: list devices of %s: %w", tenantID, err)
	}
	return ds, nil
}
