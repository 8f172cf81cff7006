package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
)

// auditJSON is an entry of the audit log as the API sends it.
type auditJSON struct {
	Seq      int64     `json:"seq"`
	At       time.Time `json:"at"`
	Role     string    `json:"role"`
	TenantID string    `json:"tenant_id"`
	Action   string    `json:"action"`
	Target   string    `json:"target"`
	Result   string    `json:"result"`
}

func runAuditList(ctx context.Context, s *session) error {
	limit := s.fs.Int("limit", 0, "list `N` entries, 1 to 1000 (default 100)")
	before := s.fs.Int64("before", 0, "list the entries older than the sequence number `SEQ`")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	q := url.Values{}
	switch {
	case *limit < 0:
		return &UsageError{Msg: "--limit must not be negative", Hint: "pass --limit 1 to 1000"}
	case *before < 0:
		return &UsageError{Msg: "--before must not be negative",
			Hint: "pass the next of a page, a sequence number"}
	}
	if *limit > 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	if *before > 0 {
		q.Set("before", strconv.FormatInt(*before, 10))
	}

	var list struct {
		Entries []auditJSON `json:"entries"`
		Next    int64       `json:"next"`
	}
	raw, err := s.api.call(ctx, "GET", "/api/v1/audit", q, nil, &list)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		if len(list.Entries) == 0 {
			_, err := fmt.Fprintln(w, "no audit entries")
			return err
		}
		tab := newTable(w, "SEQ", "AT", "ROLE", "TENANT", "ACTION", "TARGET", "RESULT")
		for _, e := range list.Entries {
			tab.row(strconv.FormatInt(e.Seq, 10), stamp(e.At), orDash(e.Role),
				orDash(e.TenantID), e.Action, e.Target, e.Result)
		}
		if err := tab.flush(); err != nil {
			return err
		}
		if list.Next != 0 {
			_, err := fmt.Fprintf(w, "\nolder entries: use --before %d\n", list.Next)
			return err
		}
		return nil
	})
}
