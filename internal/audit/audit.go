// Package audit records who changed what through the admin API.
//
// The HTTP layer puts an [Actor] into the request context once it has
// authenticated the caller. A domain operation that changes the store calls
// [Record] inside its own transaction, so the change and its audit entry
// commit or roll back together. A request that fails is recorded by the HTTP
// layer with [RecordFailure] after the failed transaction has rolled back, so
// every authenticated attempt at a change leaves exactly one entry.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hallmark-project/hallmark/internal/store"
)

// Actor is the authenticated caller of a request.
type Actor struct {
	TokenID   string
	Role      store.Role
	TenantID  string
	RequestID string
}

type actorKey struct{}

// NewContext returns ctx carrying the actor.
func NewContext(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// FromContext returns the actor in ctx, if any.
func FromContext(ctx context.Context) (Actor, bool) {
	a, ok := ctx.Value(actorKey{}).(Actor)
	return a, ok
}

// Record appends a successful change to the audit log through q, which
// should be the transaction that made the change. detail, if not nil, is
// stored as JSON; it must hold no secrets.
func Record(ctx context.Context, q store.Queries, at time.Time, action, target string,
	detail any) error {
	return appendEntry(ctx, q, at, action, target, "ok", detail)
}

// RecordFailure appends a refused or failed change with its error code.
func RecordFailure(ctx context.Context, q store.Queries, at time.Time, action, target,
	code string) error {
	return appendEntry(ctx, q, at, action, target, code, nil)
}

func appendEntry(ctx context.Context, q store.Queries, at time.Time, action, target,
	result string, detail any) error {
	a, _ := FromContext(ctx)
	e := store.AuditEntry{
		At:        at,
		TokenID:   a.TokenID,
		Role:      a.Role,
		TenantID:  a.TenantID,
		Action:    action,
		Target:    target,
		Result:    result,
		RequestID: a.RequestID,
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return fmt.Errorf("audit: encode detail of %s: %w", action, err)
		}
		e.Detail = string(b)
	}
	if err := q.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("audit: record %s: %w", action, err)
	}
	return nil
}
