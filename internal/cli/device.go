package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// deviceJSON is a device as the API sends it.
type deviceJSON struct {
	ID           string     `json:"id"`
	RegisteredAt time.Time  `json:"registered_at"`
	Blocked      bool       `json:"blocked"`
	BlockedAt    *time.Time `json:"blocked_at"`
	TenantID     string     `json:"tenant_id"`
	ClaimedAt    *time.Time `json:"claimed_at"`
	Last         *struct {
		At           time.Time `json:"at"`
		Verdict      string    `json:"verdict"`
		CertNotAfter time.Time `json:"certificate_not_after"`
		Software     []struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"software"`
	} `json:"last_attestation"`
}

func (d deviceJSON) print(w io.Writer) error {
	pairs := []string{"id", d.ID, "registered", stamp(d.RegisteredAt),
		"tenant", orDash(d.TenantID), "claimed", stampOr(d.ClaimedAt, ""),
		"blocked", stampOr(d.BlockedAt, "no")}
	if d.Last != nil {
		var sw []string
		for _, c := range d.Last.Software {
			sw = append(sw, c.Name+" "+c.Version)
		}
		pairs = append(pairs, "attested", stamp(d.Last.At), "verdict", d.Last.Verdict,
			"software", strings.Join(sw, ", "), "cert expires", stamp(d.Last.CertNotAfter))
	}
	return fields(w, pairs...)
}

// attested returns the time, verdict and certificate expiry of the last
// attestation, or dashes.
func (d deviceJSON) attested() (string, string, string) {
	if d.Last == nil {
		return "-", "-", "-"
	}
	return stamp(d.Last.At), d.Last.Verdict, stamp(d.Last.CertNotAfter)
}

// devicePath returns the path of the device collection the token sees:
// a tenant's, or for a token without a tenant (the operator's) every device.
func (s *session) devicePath(ctx context.Context, tenant string) (string, error) {
	if tenant == "" {
		t, err := s.tokenTenant(ctx)
		if err != nil {
			return "", err
		}
		tenant = t
	}
	if tenant == "" {
		return "/api/v1/devices", nil
	}
	return "/api/v1/tenants/" + url.PathEscape(tenant) + "/devices", nil
}

func runDeviceList(ctx context.Context, s *session) error {
	tenant := s.fs.String("tenant", "",
		"list the devices of the tenant `ID`; default: the token's tenant, or\n"+
			"every device for an operator token")
	all := s.fs.Bool("all", false,
		"follow the pages to the last; with --output json, print one list")
	limit := s.fs.Int("limit", 0, "`N` devices per page, 1 to 1000 (default 100)")
	after := s.fs.String("after", "", "start after the device `ID`, the next of a page")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	if *limit < 0 {
		return &UsageError{Msg: "--limit must not be negative", Hint: "pass --limit 1 to 1000"}
	}
	path, err := s.devicePath(ctx, *tenant)
	if err != nil {
		return err
	}

	q := url.Values{}
	if *limit > 0 {
		q.Set("limit", strconv.Itoa(*limit))
	}
	list := rawDeviceList{Devices: []json.RawMessage{}}
	var raw []byte
	for cursor := *after; ; cursor = list.Next {
		if cursor != "" {
			q.Set("after", cursor)
		}
		var page rawDeviceList
		raw, err = s.api.call(ctx, "GET", path, q, nil, &page)
		if err != nil {
			return err
		}
		list.Devices, list.Next = append(list.Devices, page.Devices...), page.Next
		if !*all || page.Next == "" {
			break
		}
		if page.Next == cursor {
			return &Error{Msg: "the server sent the same page of devices twice"}
		}
	}
	if *all {
		if raw, err = json.MarshalIndent(list, "", "  "); err != nil {
			return fmt.Errorf("encode devices: %w", err)
		}
	}
	return s.show(raw, func(w io.Writer) error { return printDevices(w, list) })
}

// rawDeviceList is a page of devices, each kept as sent; Next is the
// "after" of the next page.
type rawDeviceList struct {
	Devices []json.RawMessage `json:"devices"`
	Next    string            `json:"next,omitempty"`
}

func printDevices(w io.Writer, list rawDeviceList) error {
	if len(list.Devices) == 0 {
		_, err := fmt.Fprintln(w, "no devices")
		return err
	}
	tab := newTable(w, "ID", "TENANT", "REGISTERED", "CLAIMED", "BLOCKED", "ATTESTED",
		"VERDICT", "CERT EXPIRES")
	for _, raw := range list.Devices {
		var d deviceJSON
		if err := json.Unmarshal(raw, &d); err != nil {
			return &Error{Msg: "a device in the answer is not the expected JSON", Err: err}
		}
		at, verdict, expires := d.attested()
		tab.row(d.ID, orDash(d.TenantID), stamp(d.RegisteredAt), stampOr(d.ClaimedAt, "-"),
			stampOr(d.BlockedAt, "-"), at, verdict, expires)
	}
	if err := tab.flush(); err != nil {
		return err
	}
	if list.Next != "" {
		_, err := fmt.Fprintf(w, "\nmore devices: use --all, or --after %s\n", list.Next)
		return err
	}
	return nil
}

func runDeviceShow(ctx context.Context, s *session) error {
	tenant := s.fs.String("tenant", "",
		"look in the tenant `ID`; default: the token's tenant, or every device\n"+
			"for an operator token")
	args, err := s.parse(1, 1)
	if err != nil {
		return err
	}
	path, err := s.devicePath(ctx, *tenant)
	if err != nil {
		return err
	}
	var d deviceJSON
	raw, err := s.api.call(ctx, "GET", path+"/"+url.PathEscape(args[0]), nil, nil, &d)
	if err != nil {
		return err
	}
	return s.show(raw, d.print)
}

func runDeviceBlock(ctx context.Context, s *session) error {
	return setBlocked(ctx, s, "block")
}

func runDeviceUnblock(ctx context.Context, s *session) error {
	return setBlocked(ctx, s, "unblock")
}

// setBlocked blocks or unblocks a device; action is "block" or "unblock".
func setBlocked(ctx context.Context, s *session, action string) error {
	args, err := s.parse(1, 1)
	if err != nil {
		return err
	}
	var d deviceJSON
	path := "/api/v1/devices/" + url.PathEscape(args[0]) + "/" + action
	raw, err := s.api.call(ctx, "POST", path, nil, nil, &d)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%sed device %s\n", action, d.ID)
		return err
	})
}

func runDeviceClaim(ctx context.Context, s *session) error {
	tenant := s.fs.String("tenant", "", "claim for the tenant `ID`; default: the token's")
	args, err := s.parse(1, 1)
	if err != nil {
		return err
	}
	t, err := s.tenant(ctx, *tenant, "pass --tenant ID")
	if err != nil {
		return err
	}
	var d struct {
		deviceJSON
		Claimed bool `json:"claimed"`
	}
	path := "/api/v1/tenants/" + url.PathEscape(t) + "/devices/" + url.PathEscape(args[0]) +
		"/claim"
	raw, err := s.api.call(ctx, "POST", path, nil, nil, &d)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		msg := "claimed device %s for tenant %s\n"
		if !d.Claimed {
			msg = "device %s was already claimed by tenant %s; nothing changed\n"
		}
		_, err := fmt.Fprintf(w, msg, d.ID, d.TenantID)
		return err
	})
}
