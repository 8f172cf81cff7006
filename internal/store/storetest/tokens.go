package storetest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hallmark-project/hallmark/internal/store"
)

// hash returns the SHA-256 hash of a made-up token secret.
func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func testTokens(t *testing.T, s store.Store) {
	ctx := t.Context()
	op := store.Token{
		ID: "tok-op", Hash: hash("op"), Role: store.RoleOperator, Name: "ops laptop",
		CreatedAt: t0,
	}
	admin := store.Token{
		ID: "tok-admin", Hash: hash("admin"), Role: store.RoleTenantAdmin, TenantID: "t-a",
		Name: "acme admin", CreatedAt: t0.Add(time.Hour), ExpiresAt: t0.Add(24 * time.Hour),
	}
	reader := store.Token{
		ID: "tok-reader", Hash: hash("reader"), Role: store.RoleTenantReader, TenantID: "t-b",
		Name: "beta dashboards", CreatedAt: t0.Add(30 * time.Minute),
	}
	for _, tok := range []store.Token{op, admin, reader} {
		mustOK(t, s.PutToken(ctx, tok))
	}

	gets := []struct {
		name string
		get  func() (store.Token, error)
		want store.Token
		err  error
	}{
		{"by-id", func() (store.Token, error) { return s.GetToken(ctx, "tok-admin") },
			admin, nil},
		{"by-hash", func() (store.Token, error) { return s.GetTokenByHash(ctx, hash("op")) },
			op, nil},
		{"unknown-id", func() (store.Token, error) { return s.GetToken(ctx, "tok-z") },
			store.Token{}, store.ErrNotFound},
		{"unknown-hash", func() (store.Token, error) {
			return s.GetTokenByHash(ctx, hash("guess"))
		}, store.Token{}, store.ErrNotFound},
	}
	for _, tc := range gets {
		t.Run("get-"+tc.name, func(t *testing.T) {
			got, err := tc.get()
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, got)
		})
	}

	lists := []struct {
		name   string
		tenant string
		want   []store.Token
	}{
		{"all-by-creation", "", []store.Token{op, reader, admin}},
		{"tenant", "t-a", []store.Token{admin}},
		{"tenant-without-tokens", "t-z", nil},
	}
	for _, tc := range lists {
		t.Run("list-"+tc.name, func(t *testing.T) {
			got, err := s.ListTokens(ctx, tc.tenant)
			mustOK(t, err)
			wantDiff(t, tc.want, got)
		})
	}

	puts := []struct {
		name string
		tok  store.Token
		err  error
	}{
		{"id-taken", store.Token{ID: "tok-op", Hash: hash("new"), Role: store.RoleOperator},
			store.ErrConflict},
		{"hash-taken", store.Token{ID: "tok-new", Hash: hash("op"), Role: store.RoleOperator},
			store.ErrConflict},
		{"empty-hash", store.Token{ID: "tok-new", Role: store.RoleOperator}, errInvalid},
	}
	for _, tc := range puts {
		t.Run("put-"+tc.name, func(t *testing.T) {
			wantErr(t, s.PutToken(ctx, tc.tok), tc.err)
		})
	}
}

func testRevokeToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	tok := store.Token{ID: "tok-1", Hash: hash("1"), Role: store.RoleOperator, CreatedAt: t0}
	mustOK(t, s.PutToken(ctx, tok))

	first, later := t0.Add(time.Hour), t0.Add(2*time.Hour)
	tests := []struct {
		name string
		id   string
		at   time.Time
		err  error
	}{
		{"revoke", "tok-1", first, nil},
		{"again", "tok-1", later, nil},
		{"unknown-token", "tok-z", first, store.ErrNotFound},
		{"zero-time", "tok-1", time.Time{}, errInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.RevokeToken(ctx, tc.id, tc.at), tc.err)
		})
	}

	// The second revocation left the first time.
	got, err := s.GetToken(ctx, "tok-1")
	mustOK(t, err)
	tok.RevokedAt = first
	wantDiff(t, tok, got)
}

func testAudit(t *testing.T, s store.Store) {
	ctx := t.Context()
	var entries []store.AuditEntry
	for i := range 5 {
		e := store.AuditEntry{
			Seq:       1000, // the store assigns Seq
			At:        t0.Add(time.Duration(i) * time.Minute),
			TokenID:   "tok-admin",
			Role:      store.RoleTenantAdmin,
			TenantID:  "t-a",
			Action:    fmt.Sprintf("device.claim.%d", i),
			Target:    fmt.Sprintf("d-%d", i),
			Result:    "ok",
			RequestID: fmt.Sprintf("req-%d", i),
			Detail:    `{"n":1}`,
		}
		mustOK(t, s.AppendAudit(ctx, e))
		entries = append(entries, e)
	}

	all, err := s.ListAudit(ctx, store.AuditFilter{})
	mustOK(t, err)
	newestFirst := []store.AuditEntry{entries[4], entries[3], entries[2], entries[1],
		entries[0]}
	wantDiff(t, newestFirst, all, cmpopts.IgnoreFields(store.AuditEntry{}, "Seq"))
	for i := 1; i < len(all); i++ {
		if all[i].Seq >= all[i-1].Seq {
			t.Errorf("Seq %d listed after %d, want descending", all[i].Seq, all[i-1].Seq)
		}
	}
	if len(all) != 5 {
		t.Fatalf("ListAudit returned %d entries, want 5", len(all))
	}

	pages := []struct {
		name   string
		filter store.AuditFilter
		want   []store.AuditEntry
		err    error
	}{
		{"first-page", store.AuditFilter{Limit: 2}, all[:2], nil},
		{"second-page", store.AuditFilter{Before: all[1].Seq, Limit: 2}, all[2:4], nil},
		{"last-page", store.AuditFilter{Before: all[3].Seq, Limit: 2}, all[4:], nil},
		{"past-end", store.AuditFilter{Before: all[4].Seq}, nil, nil},
		{"negative-limit", store.AuditFilter{Limit: -1}, nil, errInvalid},
		{"negative-bound", store.AuditFilter{Before: -1}, nil, errInvalid},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tc.filter)
			wantErr(t, err, tc.err)
			wantDiff(t, tc.want, got, cmpopts.EquateEmpty())
		})
	}
}

func testAuditDefaultLimit(t *testing.T, s store.Store) {
	ctx := t.Context()
	err := s.Tx(ctx, func(q store.Queries) error {
		for i := range 101 {
			e := store.AuditEntry{At: t0, Action: fmt.Sprintf("a-%d", i), Result: "ok"}
			if err := q.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	mustOK(t, err)

	got, err := s.ListAudit(ctx, store.AuditFilter{})
	mustOK(t, err)
	wantDiff(t, 100, len(got))
	if len(got) > 0 {
		wantDiff(t, "a-100", got[0].Action)
	}
}
