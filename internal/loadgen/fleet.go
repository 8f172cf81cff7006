package loadgen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Setup limits.
const (
	registerBatch   = 10000 // device IDs per registration request
	maxClaimWorkers = 16    // claims in flight at once
	tokenLifetime   = "24h" // of the tokens loadgen makes, should teardown not run
)

// fleet is what setup made on the server, and what teardown undoes: the
// catalogue is published again and the tokens revoked. The tenant and its
// devices stay, as the admin API cannot delete them.
type fleet struct {
	tenantID   string
	tenantName string
	devices    []*simDevice

	tokenIDs  []string        // tokens made by loadgen
	previous  json.RawMessage // the catalogue before the run; nil if not read
	published bool            // loadgen's catalogue replaced previous
}

type tenantAnswer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type tokenAnswer struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// setupFleet makes the tenant, registers and claims devs, and publishes the
// catalogue that trusts their boot. It returns what it made even when it
// fails, for teardown.
func setupFleet(ctx context.Context, a *adminClient, op string, devs []*simDevice,
	logf func(string, ...any)) (*fleet, error) {
	f := &fleet{devices: devs}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix) // crypto/rand.Read does not fail
	f.tenantName = "loadgen-" + hex.EncodeToString(suffix)

	logf("creating tenant %s", f.tenantName)
	var t tenantAnswer
	if err := a.postJSON(ctx, "/api/v1/tenants", op, map[string]string{"name": f.tenantName},
		&t); err != nil {
		return f, fmt.Errorf("create tenant: %w", err)
	}
	f.tenantID = t.ID
	maker, err := f.newToken(ctx, a, op, "manufacturer", "")
	if err != nil {
		return f, err
	}
	admin, err := f.newToken(ctx, a, op, "tenant-admin", f.tenantID)
	if err != nil {
		return f, err
	}

	logf("registering %d devices", len(devs))
	if err := register(ctx, a, maker, devs); err != nil {
		return f, err
	}
	logf("claiming %d devices for the tenant", len(devs))
	if err := claim(ctx, a, admin, f.tenantID, devs); err != nil {
		return f, err
	}
	logf("publishing a catalogue that trusts the simulated boot " +
		"(it replaces the server's until the run ends)")
	return f, f.publish(ctx, a, op)
}

// newToken makes a token that loadgen revokes at the end.
func (f *fleet) newToken(ctx context.Context, a *adminClient, op, role,
	tenantID string) (string, error) {
	req := map[string]string{"role": role, "name": f.tenantName, "expires_in": tokenLifetime}
	if tenantID != "" {
		req["tenant_id"] = tenantID
	}
	var t tokenAnswer
	if err := a.postJSON(ctx, "/api/v1/tokens", op, req, &t); err != nil {
		return "", fmt.Errorf("create %s token: %w", role, err)
	}
	f.tokenIDs = append(f.tokenIDs, t.ID)
	if t.Secret == "" {
		return "", fmt.Errorf("create %s token: the answer has no secret", role)
	}
	return t.Secret, nil
}

// register sends the device IDs in CSV batches.
func register(ctx context.Context, a *adminClient, token string, devs []*simDevice) error {
	for start := 0; start < len(devs); start += registerBatch {
		batch := devs[start:min(start+registerBatch, len(devs))]
		var b strings.Builder
		b.Grow(len(batch) * (len(batch[0].id) + 1))
		b.WriteString("device_id\n")
		for _, d := range batch {
			b.WriteString(d.id)
			b.WriteByte('\n')
		}
		var res struct {
			Received int `json:"received"`
		}
		err := a.call(ctx, http.MethodPost, "/api/v1/devices", token, "text/csv",
			[]byte(b.String()), &res)
		if err != nil {
			return fmt.Errorf("register devices: %w", err)
		}
		if res.Received != len(batch) {
			return fmt.Errorf("register devices: the server received %d of %d IDs",
				res.Received, len(batch))
		}
	}
	return nil
}

// claim claims every device for the tenant, a few at a time, and stops at
// the first failure.
func claim(ctx context.Context, a *adminClient, token, tenantID string,
	devs []*simDevice) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan *simDevice)
	var wg sync.WaitGroup
	for range min(maxClaimWorkers, len(devs)) {
		wg.Go(func() {
			for d := range next {
				path := "/api/v1/tenants/" + tenantID + "/devices/" + d.id + "/claim"
				if err := a.call(ctx, http.MethodPost, path, token, "", nil, nil); err != nil {
					cancel(err)
				}
			}
		})
	}
send:
	for _, d := range devs {
		select {
		case next <- d:
		case <-ctx.Done():
			break send
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return fmt.Errorf("claim devices: %w", err)
	}
	return nil
}

// publish saves the server's catalogue and publishes loadgen's.
func (f *fleet) publish(ctx context.Context, a *adminClient, op string) error {
	var cur struct {
		Document json.RawMessage `json:"document"`
	}
	if err := a.call(ctx, http.MethodGet, "/api/v1/catalogue", op, "", nil, &cur); err != nil {
		return fmt.Errorf("read the catalogue: %w", err)
	}
	if len(cur.Document) == 0 {
		return errors.New("read the catalogue: the answer has no document")
	}
	f.previous = cur.Document
	err := a.call(ctx, http.MethodPut, "/api/v1/catalogue", op, "application/json",
		catalogueJSON(), nil)
	if err != nil {
		return fmt.Errorf("publish the catalogue: %w", err)
	}
	f.published = true
	return nil
}

// teardown publishes the previous catalogue again and revokes the tokens.
func (f *fleet) teardown(ctx context.Context, a *adminClient, op string) error {
	var errs []error
	if f.published {
		err := a.call(ctx, http.MethodPut, "/api/v1/catalogue", op, "application/json",
			f.previous, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("publish the previous catalogue again: %w", err))
		}
	}
	for _, id := range f.tokenIDs {
		if err := a.call(ctx, http.MethodDelete, "/api/v1/tokens/"+id, op, "", nil,
			nil); err != nil {
			errs = append(errs, fmt.Errorf("revoke token %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}
