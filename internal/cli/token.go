package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"
)

// tokenJSON is a token as the API sends it; Secret only when it is created.
type tokenJSON struct {
	ID        string     `json:"id"`
	Secret    string     `json:"secret"`
	Role      string     `json:"role"`
	TenantID  string     `json:"tenant_id"`
	Name      string     `json:"name"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

func (t tokenJSON) print(w io.Writer) error {
	return fields(w, "id", t.ID, "role", t.Role, "tenant", t.TenantID, "name", t.Name,
		"created", stamp(t.CreatedAt), "expires", stampOr(t.ExpiresAt, "never"),
		"revoked", stampOr(t.RevokedAt, ""), "secret", t.Secret)
}

const roles = "operator, manufacturer, tenant-admin or tenant-reader"

func runTokenCreate(ctx context.Context, s *session) error {
	var in struct {
		Role      string `json:"role"`
		TenantID  string `json:"tenant_id,omitempty"`
		Name      string `json:"name,omitempty"`
		ExpiresIn string `json:"expires_in,omitempty"`
	}
	s.fs.StringVar(&in.Role, "role", "", "the token's `ROLE`: "+roles)
	s.fs.StringVar(&in.TenantID, "tenant", "",
		"the tenant `ID` of a tenant role; a tenant admin's own by default")
	s.fs.StringVar(&in.Name, "name", "", "a `NAME` to recognise the token by")
	s.fs.StringVar(&in.ExpiresIn, "expires-in", "",
		"the token's `LIFETIME`, such as 720h; without it the token does not expire")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	if in.Role == "" {
		return &UsageError{Msg: "missing --role", Hint: "pass --role " + roles}
	}

	var t tokenJSON
	raw, err := s.api.call(ctx, "POST", "/api/v1/tokens", nil, in, &t)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		if err := t.print(w); err != nil {
			return err
		}
		_, err := fmt.Fprint(w, "\nThe secret is shown only now and will not be shown "+
			"again; store it safely.\n")
		return err
	})
}

func runTokenList(ctx context.Context, s *session) error {
	tenant := s.fs.String("tenant", "", "list only the tokens of the tenant `ID`")
	if _, err := s.parse(0, 0); err != nil {
		return err
	}
	q := url.Values{}
	if *tenant != "" {
		q.Set("tenant_id", *tenant)
	}
	var list struct {
		Tokens []tokenJSON `json:"tokens"`
	}
	raw, err := s.api.call(ctx, "GET", "/api/v1/tokens", q, nil, &list)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		if len(list.Tokens) == 0 {
			_, err := fmt.Fprintln(w, "no tokens")
			return err
		}
		tab := newTable(w, "ID", "ROLE", "TENANT", "NAME", "CREATED", "EXPIRES", "REVOKED")
		for _, t := range list.Tokens {
			tab.row(t.ID, t.Role, orDash(t.TenantID), orDash(t.Name), stamp(t.CreatedAt),
				stampOr(t.ExpiresAt, "never"), stampOr(t.RevokedAt, "-"))
		}
		return tab.flush()
	})
}

func runTokenRevoke(ctx context.Context, s *session) error {
	args, err := s.parse(1, 1)
	if err != nil {
		return err
	}
	var t tokenJSON
	raw, err := s.api.call(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(args[0]), nil,
		nil, &t)
	if err != nil {
		return err
	}
	return s.show(raw, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "revoked token %s\n", t.ID)
		return err
	})
}
