package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"time"
)

func runCataloguePublish(ctx context.Context, s *session) error {
	args, err := s.parse(1, 1)
	if err != nil {
		return err
	}
	var doc []byte
	if args[0] == "-" {
		doc, err = io.ReadAll(io.LimitReader(s.stdin, 4<<20))
	} else {
		doc, err = os.ReadFile(args[0])
	}
	if err != nil {
		return &Error{Msg: "read catalogue", Err: err}
	}
	var res struct {
		Version int64 `json:"version"`
	}
	raw, err := s.api.do(ctx, "PUT", "/api/v1/catalogue", nil, bytes.NewReader(doc),
		"application/json")
	if err != nil {
		return err
	}
	if err := decodeAnswer(raw, &res); err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "published catalogue version %d\n", res.Version)
		return err
	})
}

func runCatalogueShow(ctx context.Context, s *session) error {
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	var cat struct {
		Version  int64           `json:"version"`
		Document json.RawMessage `json:"document"`
	}
	raw, err := s.api.call(ctx, "GET", "/api/v1/catalogue", nil, nil, &cat)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, cat.Document, "", "  "); err != nil {
			pretty.Write(cat.Document)
		}
		_, err := fmt.Fprintf(w, "catalogue version %d\n%s\n", cat.Version, pretty.Bytes())
		return err
	})
}

// issuanceJSON is an entry of a tenant's issuance log as the API sends it.
type issuanceJSON struct {
	DeviceID string    `json:"device_id"`
	Serial   string    `json:"serial"`
	NotAfter time.Time `json:"not_after"`
	Verdict  string    `json:"verdict"`
	IssuedAt time.Time `json:"issued_at"`
}

func runIssuanceList(ctx context.Context, s *session) error {
	tenant := s.fs.String("tenant", "", "the tenant `ID`; default: the token's own")
	device := s.fs.String("device", "", "only the certificates of the device `ID`")
	limit := s.fs.Int("limit", 0, "list `N` entries, 1 to 1000 (default 100)")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	t, err := s.tenant(ctx, *tenant, "pass --tenant")
	if err != nil {
		return err
	}
	q := url.Values{}
	if *device != "" {
		q.Set("device", *device)
	}
	if *limit != 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	var list struct {
		Issuances []issuanceJSON `json:"issuances"`
	}
	raw, err := s.api.call(ctx, "GET", "/api/v1/tenants/"+url.PathEscape(t)+"/issuances", q,
		nil, &list)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		if len(list.Issuances) == 0 {
			_, err := fmt.Fprintln(w, "no certificates issued")
			return err
		}
		tab := newTable(w, "ISSUED", "DEVICE", "SERIAL", "VERDICT", "NOT AFTER")
		for _, i := range list.Issuances {
			tab.row(stamp(i.IssuedAt), i.DeviceID, i.Serial, i.Verdict, stamp(i.NotAfter))
		}
		return tab.flush()
	})
}
