package adminapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/hallmark-project/hallmark/internal/audit"
	"github.com/hallmark-project/hallmark/internal/store"
)

type auditJSON struct {
	Seq       int64           `json:"seq"`
	At        time.Time       `json:"at"`
	TokenID   string          `json:"token_id,omitempty"`
	Role      string          `json:"role,omitempty"`
	TenantID  string          `json:"tenant_id,omitempty"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	Result    string          `json:"result"`
	RequestID string          `json:"request_id,omitempty"`
	Detail    json.RawMessage `json:"detail,omitempty"`
}

type auditList struct {
	Entries []auditJSON `json:"entries"`
	// Next is the value of "before" for the next (older) page.
	Next int64 `json:"next,omitempty"`
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, _ audit.Actor) *apiError {
	before, limit, e := seqPage(r)
	if e != nil {
		return e
	}
	f := store.AuditFilter{Before: before, Limit: limit}
	es, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		return errInternal(err)
	}
	out := auditList{Entries: make([]auditJSON, len(es))}
	for i, e := range es {
		out.Entries[i] = auditJSON{Seq: e.Seq, At: e.At, TokenID: e.TokenID,
			Role: string(e.Role), TenantID: e.TenantID, Action: e.Action, Target: e.Target,
			Result: e.Result, RequestID: e.RequestID}
		if e.Detail != "" {
			out.Entries[i].Detail = json.RawMessage(e.Detail)
		}
	}
	if len(es) == f.Limit {
		out.Next = es[len(es)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// seqPage reads the "before" (a sequence number) and "limit" query
// parameters of a log listed newest first.
func seqPage(r *http.Request) (int64, int, *apiError) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, 0, newError(http.StatusBadRequest, "invalid_limit",
				"limit must be a whole number from 1 to 1000")
		}
		limit = n
	}
	var before int64
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, newError(http.StatusBadRequest, "invalid_cursor",
				"before must be a positive sequence number")
		}
		before = n
	}
	return before, limit, nil
}
