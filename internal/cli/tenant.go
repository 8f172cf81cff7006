package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"
)

// tenantJSON is a tenant as the API sends it.
type tenantJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func (t tenantJSON) print(w io.Writer) error {
	return fields(w, "id", t.ID, "name", t.Name, "created", stamp(t.CreatedAt))
}

func runTenantCreate(ctx context.Context, s *session) error {
	args, err := s.parse(1, 1)
	if err != nil {
		return err
	}
	var t tenantJSON
	in := struct {
		Name string `json:"name"`
	}{args[0]}
	raw, err := s.api.call(ctx, "POST", "/api/v1/tenants", nil, in, &t)
	if err != nil {
		return err
	}
	return s.show(raw, t.print)
}

func runTenantList(ctx context.Context, s *session) error {
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	var list struct {
		Tenants []tenantJSON `json:"tenants"`
	}
	raw, err := s.api.call(ctx, "GET", "/api/v1/tenants", nil, nil, &list)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		if len(list.Tenants) == 0 {
			_, err := fmt.Fprintln(w, "no tenants")
			return err
		}
		tab := newTable(w, "ID", "NAME", "CREATED")
		for _, t := range list.Tenants {
			tab.row(t.ID, t.Name, stamp(t.CreatedAt))
		}
		return tab.flush()
	})
}

func runTenantShow(ctx context.Context, s *session) error {
	args, err := s.parse(0, 1)
	if err != nil {
		return err
	}
	id := ""
	if len(args) == 1 {
		id = args[0]
	}
	id, err = s.tenant(ctx, id, "name the tenant: hallmark tenant show ID")
	if err != nil {
		return err
	}
	var t tenantJSON
	raw, err := s.api.call(ctx, "GET", "/api/v1/tenants/"+url.PathEscape(id), nil, nil, &t)
	if err != nil {
		return err
	}
	return s.show(raw, t.print)
}
