package adminapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/registry"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/tenant"
)

// maxBatchBody bounds a device registration batch: about 60,000 IDs.
const maxBatchBody = 8 << 20

type deviceJSON struct {
	ID           string     `json:"id"`
	RegisteredAt time.Time  `json:"registered_at"`
	Blocked      bool       `json:"blocked"`
	BlockedAt    *time.Time `json:"blocked_at,omitempty"`
	TenantID     string     `json:"tenant_id,omitempty"`
	ClaimedAt    *time.Time `json:"claimed_at,omitempty"`
	// LastAttestation is the last attestation that earned a certificate.
	LastAttestation *lastAttestationJSON `json:"last_attestation,omitempty"`
}

type lastAttestationJSON struct {
	At           time.Time       `json:"at"`
	Verdict      string          `json:"verdict"`
	Software     json.RawMessage `json:"software,omitempty"`
	CertNotAfter time.Time       `json:"certificate_not_after"`
}

func toDeviceJSON(d store.Device) deviceJSON {
	out := deviceJSON{ID: d.ID, RegisteredAt: d.RegisteredAt, Blocked: d.Blocked,
		BlockedAt: optTime(d.BlockedAt), TenantID: d.TenantID, ClaimedAt: optTime(d.ClaimedAt)}
	if !d.LastAttestedAt.IsZero() {
		out.LastAttestation = &lastAttestationJSON{At: d.LastAttestedAt, Verdict: d.LastVerdict,
			CertNotAfter: d.CertNotAfter}
		if d.LastSoftware != "" {
			out.LastAttestation.Software = json.RawMessage(d.LastSoftware)
		}
	}
	return out
}

type deviceList struct {
	Devices []deviceJSON `json:"devices"`
	// Next is the value of "after" for the next page; absent on the last.
	Next string `json:"next,omitempty"`
}

func parseDeviceID(r *http.Request) (deviceid.ID, *apiError) {
	id, err := deviceid.Parse(r.PathValue("device"))
	if err != nil {
		return deviceid.ID{}, newError(http.StatusBadRequest, "invalid_device_id", err.Error())
	}
	return id, nil
}

// page reads the "after" and "limit" query parameters.
func page(r *http.Request) (string, int, *apiError) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return "", 0, newError(http.StatusBadRequest, "invalid_limit",
				"limit must be a whole number from 1 to 1000")
		}
		limit = n
	}
	return q.Get("after"), limit, nil
}

func writeDevices(w http.ResponseWriter, ds []store.Device, limit int) {
	out := deviceList{Devices: make([]deviceJSON, len(ds))}
	for i, d := range ds {
		out.Devices[i] = toDeviceJSON(d)
	}
	if len(ds) == limit {
		out.Next = ds[len(ds)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

type registerResponse struct {
	Received int `json:"received"`
	Created  int `json:"created"`
	Existing int `json:"existing"`
}

func (s *Server) registerDevices(w http.ResponseWriter, r *http.Request,
	_ audit.Actor) *apiError {
	body := http.MaxBytesReader(w, r.Body, maxBatchBody)
	res, err := s.registry.Import(r.Context(), body, r.Header.Get("Content-Type"))
	var batchErr *registry.BatchError
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		return newError(http.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("a batch may have at most %d bytes", maxErr.Limit)).
			withHint("split the batch into several requests")
	case errors.Is(err, registry.ErrUnsupportedFormat):
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type",
			err.Error()).withHint("send application/x-ndjson or text/csv")
	case errors.As(err, &batchErr):
		e := newError(http.StatusBadRequest, "invalid_batch", fmt.Sprintf(
			"%d lines are invalid; nothing was registered", len(batchErr.Errors)+batchErr.More))
		e.Hint = "fix or drop the lines listed and send the whole batch again"
		for _, le := range batchErr.Errors {
			e.Lines = append(e.Lines, lineError{le.Line, le.Code, le.Message})
		}
		e.MoreLines = batchErr.More
		return e
	case errors.Is(err, registry.ErrBatch):
		return newError(http.StatusBadRequest, "invalid_batch", err.Error())
	case err != nil:
		return errInternal(err)
	}
	writeJSON(w, http.StatusOK, registerResponse(res))
	return nil
}

func (s *Server) listAllDevices(w http.ResponseWriter, r *http.Request,
	_ audit.Actor) *apiError {
	after, limit, e := page(r)
	if e != nil {
		return e
	}
	ds, err := s.registry.List(r.Context(), store.DeviceFilter{After: after, Limit: limit})
	if err != nil {
		return errInternal(err)
	}
	writeDevices(w, ds, limit)
	return nil
}

func (s *Server) getAnyDevice(w http.ResponseWriter, r *http.Request, _ audit.Actor) *apiError {
	id, e := parseDeviceID(r)
	if e != nil {
		return e
	}
	d, err := s.registry.Get(r.Context(), id)
	return writeRegistryDevice(w, d, err)
}

// writeRegistryDevice answers with a device the registry returned.
func writeRegistryDevice(w http.ResponseWriter, d store.Device, err error) *apiError {
	if errors.Is(err, registry.ErrNotFound) {
		return errDeviceNotFound
	}
	if err != nil {
		return errInternal(err)
	}
	writeJSON(w, http.StatusOK, toDeviceJSON(d))
	return nil
}

func (s *Server) blockDevice(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	return s.setBlocked(w, r, true)
}

func (s *Server) unblockDevice(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	return s.setBlocked(w, r, false)
}

func (s *Server) setBlocked(w http.ResponseWriter, r *http.Request, blocked bool) *apiError {
	id, e := parseDeviceID(r)
	if e != nil {
		return e
	}
	d, err := s.registry.SetBlocked(r.Context(), id, blocked)
	return writeRegistryDevice(w, d, err)
}

func (s *Server) listDevices(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	t, e := s.tenantScope(r, a)
	if e != nil {
		return e
	}
	after, limit, e := page(r)
	if e != nil {
		return e
	}
	ds, err := s.tenants.Devices(r.Context(), t.ID, after, limit)
	if err != nil {
		return errInternal(err)
	}
	writeDevices(w, ds, limit)
	return nil
}

// tenantDevice resolves the {tenant} and {device} of a tenant's device path.
func (s *Server) tenantDevice(r *http.Request, a audit.Actor) (store.Tenant, deviceid.ID,
	*apiError) {
	t, e := s.tenantScope(r, a)
	if e != nil {
		return store.Tenant{}, deviceid.ID{}, e
	}
	id, e := parseDeviceID(r)
	if e != nil {
		return store.Tenant{}, deviceid.ID{}, e
	}
	return t, id, nil
}

func (s *Server) getDevice(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	t, id, e := s.tenantDevice(r, a)
	if e != nil {
		return e
	}
	d, err := s.tenants.Device(r.Context(), t.ID, id)
	if errors.Is(err, tenant.ErrDeviceNotFound) {
		return errDeviceNotFound
	}
	if err != nil {
		return errInternal(err)
	}
	writeJSON(w, http.StatusOK, toDeviceJSON(d))
	return nil
}

type claimResponse struct {
	deviceJSON
	// Claimed is false when the tenant had claimed the device before.
	Claimed bool `json:"claimed"`
}

func (s *Server) claimDevice(w http.ResponseWriter, r *http.Request, a audit.Actor) *apiError {
	t, id, e := s.tenantDevice(r, a)
	if e != nil {
		return e
	}
	claimed, err := s.tenants.Claim(r.Context(), t.ID, id)
	switch {
	case errors.Is(err, tenant.ErrDeviceNotFound):
		return errDeviceNotFound.withHint("the manufacturer registers devices before a " +
			"tenant can claim them")
	case errors.Is(err, tenant.ErrClaimedByOther):
		return newError(http.StatusConflict, "device_claimed",
			"the device is claimed by another tenant; a claim is permanent")
	case err != nil:
		return errInternal(err)
	}
	d, err := s.tenants.Device(r.Context(), t.ID, id)
	if err != nil {
		return errInternal(err)
	}
	status := http.StatusOK
	if claimed {
		status = http.StatusCreated
	}
	writeJSON(w, status, claimResponse{toDeviceJSON(d), claimed})
	return nil
}
