package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/store"
)

// The admin API tests in api_*_test.go run requests against a real server
// and check the status, the error code, and that a refused request leaves
// the store as it was but for its audit entry.

// sub returns a copy of h that reports to t, so that subtests can fail on
// their own.
func (h *harness) sub(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// request sends a request with the given headers and does not fail the
// test, so goroutines may call it.
func (h *harness) request(method, path string, header http.Header, body io.Reader) (
	response, error) {
	req, err := http.NewRequest(method, h.admin+path, body)
	if err != nil {
		return response{}, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return response{resp.StatusCode, resp.Header, b}, nil
}

// storeState is everything a refused request must leave as it was.
type storeState struct {
	Tenants []store.Tenant
	Tokens  []store.Token
	Devices []store.Device
	CAs     []store.CA
	Audit   []store.AuditEntry // newest first
}

func (h *harness) snapshot() storeState {
	h.t.Helper()
	ctx := context.Background()
	st := h.sys.store
	var s storeState
	var err error
	if s.Tenants, err = st.ListTenants(ctx); err != nil {
		h.t.Fatal(err)
	}
	if s.Tokens, err = st.ListTokens(ctx, ""); err != nil {
		h.t.Fatal(err)
	}
	if s.Devices, err = st.ListDevices(ctx, store.DeviceFilter{Limit: 1 << 20}); err != nil {
		h.t.Fatal(err)
	}
	for _, kind := range []store.CAKind{store.KindRoot, store.KindIntermediate} {
		cas, err := st.ListCAs(ctx, kind, "")
		if err != nil {
			h.t.Fatal(err)
		}
		s.CAs = append(s.CAs, cas...)
	}
	for _, tn := range s.Tenants {
		cas, err := st.ListCAs(ctx, store.KindTenant, tn.ID)
		if err != nil {
			h.t.Fatal(err)
		}
		s.CAs = append(s.CAs, cas...)
	}
	if s.Audit, err = st.ListAudit(ctx, store.AuditFilter{Limit: 1 << 20}); err != nil {
		h.t.Fatal(err)
	}
	return s
}

// unchanged checks that the store is as in before, except for the audit
// log: with action "" it must be unchanged too, otherwise it must have
// exactly one new entry for action with the result code. It returns the
// state it found.
func (h *harness) unchanged(before storeState, action, code string) storeState {
	h.t.Helper()
	after := h.snapshot()
	for _, part := range []struct {
		name          string
		before, after any
	}{
		{"tenants", before.Tenants, after.Tenants},
		{"tokens", before.Tokens, after.Tokens},
		{"devices", before.Devices, after.Devices},
		{"CAs", before.CAs, after.CAs},
	} {
		if diff := quickDiff(part.before, part.after); diff != "" {
			h.t.Errorf("%s changed (-before +after):\n%s", part.name, diff)
		}
	}

	added := len(after.Audit) - len(before.Audit)
	if added < 0 {
		h.t.Errorf("audit log lost %d entries", -added)
		return after
	}
	if diff := quickDiff(before.Audit, after.Audit[added:]); diff != "" {
		h.t.Errorf("old audit entries changed (-before +after):\n%s", diff)
		return after
	}
	var got []string
	for _, e := range after.Audit[:added] {
		got = append(got, e.Action+" "+e.Result)
		if e.TokenID == "" {
			h.t.Errorf("audit entry %s %s names no token", e.Action, e.Result)
		}
	}
	var want []string
	if action != "" {
		want = []string{action + " " + code}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		h.t.Errorf("new audit entries (-want +got):\n%s", diff)
	}
	return after
}

// quickDiff is cmp.Diff with a fast path for the common case, equal values,
// since cmp is slow on long slices under the race detector.
func quickDiff(a, b any) string {
	if reflect.DeepEqual(a, b) {
		return ""
	}
	return cmp.Diff(a, b)
}

// apiCase is a request that must fail with a status and an error code.
type apiCase struct {
	name   string
	method string
	path   string
	token  string
	ctype  string // of the body; "" for application/json, "none" for no header
	body   any    // as for harness.call
	status int
	code   string
	// action is what the audit log records the request as, "" if it must
	// record nothing.
	action string
}

// send sends the request of c and checks the status and error code.
func (h *harness) send(c apiCase) response {
	h.t.Helper()
	ctype := c.ctype
	switch ctype {
	case "":
		ctype = "application/json"
	case "none":
		ctype = ""
	}
	r := h.callType(c.method, c.path, c.token, ctype, c.body)
	if r.status != c.status || r.code() != c.code {
		h.t.Errorf("%s %s = %d %s, want %d %s", c.method, cut(c.path), r.status,
			cut(string(r.body)), c.status, c.code)
	}
	return r
}

// expect sends each request in a subtest, checks the answer, and checks
// that a request other than GET changed nothing but the audit log. Each
// state of the store is read once, after one request and before the next;
// a GET is not checked on its own, but a change it made would show in the
// check of the next request.
func (h *harness) expect(t *testing.T, cases ...apiCase) {
	t.Helper()
	before := h.sub(t).snapshot()
	for _, c := range cases {
		ok := t.Run(c.name, func(t *testing.T) {
			h := h.sub(t)
			h.send(c)
			if c.method != "GET" {
				before = h.unchanged(before, c.action, c.code)
			}
		})
		if !ok {
			before = h.sub(t).snapshot()
		}
	}
}

// cut shortens a long path or body for a message.
func cut(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// tokenInfo is the answer to creating a token.
type tokenInfo struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

func (h *harness) createToken(req map[string]string) tokenInfo {
	h.t.Helper()
	var tok tokenInfo
	h.must(201, "POST", "/api/v1/tokens", h.operator, req).json(h.t, &tok)
	return tok
}

// register registers device IDs through the API as the operator.
func (h *harness) register(ids ...string) {
	h.t.Helper()
	r := h.callType("POST", "/api/v1/devices", h.operator, "text/csv",
		"device_id\n"+strings.Join(ids, "\n")+"\n")
	if r.status != 200 {
		h.t.Fatalf("register %d devices = %d %s", len(ids), r.status, r.body)
	}
}

// thumbprint returns the thumbprint of a tenant's first CA.
func (h *harness) thumbprint(tenantID, token string) string {
	h.t.Helper()
	var cas struct{ Certificates []struct{ Thumbprint string } }
	h.must(200, "GET", "/api/v1/tenants/"+tenantID+"/certificates", token, nil).json(h.t, &cas)
	if len(cas.Certificates) == 0 {
		h.t.Fatalf("tenant %s has no CA", tenantID)
	}
	return cas.Certificates[0].Thumbprint
}

// randomUUID returns a tenant ID that no tenant has.
func randomUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b)
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

func TestBlockDevice(t *testing.T) {
	h := start(t, "sqlite")
	tenantID, admin := h.createTenant("acme")
	dev, unknown := newDeviceID(t), newDeviceID(t)
	h.register(dev)
	h.must(201, "POST", "/api/v1/tenants/"+tenantID+"/devices/"+dev+"/claim", admin, nil)

	type device struct {
		ID      string
		Blocked bool
	}
	steps := []struct {
		name, path string
		blocked    bool
	}{
		{"block", "/block", true},
		{"block again", "/block", true},
		{"unblock", "/unblock", false},
		{"unblock again", "/unblock", false},
		{"block after unblock", "/block", true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			h := h.sub(t)
			var d device
			h.must(200, "POST", "/api/v1/devices/"+dev+s.path, h.operator, nil).json(t, &d)
			if d.ID != dev || d.Blocked != s.blocked {
				t.Errorf("answer = %+v, want blocked %v", d, s.blocked)
			}
			var got device
			h.must(200, "GET", "/api/v1/devices/"+dev, h.operator, nil).json(t, &got)
			if got.Blocked != s.blocked {
				t.Errorf("operator sees blocked %v, want %v", got.Blocked, s.blocked)
			}
			h.must(200, "GET", "/api/v1/tenants/"+tenantID+"/devices/"+dev, admin,
				nil).json(t, &got)
			if got.Blocked != s.blocked {
				t.Errorf("tenant sees blocked %v, want %v", got.Blocked, s.blocked)
			}
		})
	}

	h.expect(t, []apiCase{
		{name: "block unknown device", method: "POST",
			path: "/api/v1/devices/" + unknown + "/block", token: h.operator, status: 404,
			code: "device_not_found", action: "device.block"},
		{name: "unblock unknown device", method: "POST",
			path: "/api/v1/devices/" + unknown + "/unblock", token: h.operator, status: 404,
			code: "device_not_found", action: "device.unblock"},
		{name: "get unknown device", method: "GET", path: "/api/v1/devices/" + unknown,
			token: h.operator, status: 404, code: "device_not_found"},
	}...)
}

// TestOddRequests sends requests no client should send: none may make the
// server fail or stop answering.
func TestOddRequests(t *testing.T) {
	h := start(t, "sqlite")
	tenantID, admin := h.createTenant("acme")
	long := strings.Repeat("a", 20000)
	deep := strings.Repeat("[", 60000)
	bearer := http.Header{"Authorization": {"Bearer " + h.operator}}
	withType := func(ct string) http.Header {
		return http.Header{"Authorization": {"Bearer " + h.operator}, "Content-Type": {ct}}
	}
	tests := []struct {
		name, method, path string
		header             http.Header
		body               string
	}{
		{"long device ID", "GET", "/api/v1/devices/" + long, bearer, ""},
		{"long tenant ID", "GET", "/api/v1/tenants/" + long + "/devices", bearer, ""},
		{"long thumbprint", "GET", "/api/v1/tenants/" + tenantID + "/certificates/" + long,
			bearer, ""},
		{"long token ID", "DELETE", "/api/v1/tokens/" + long, bearer, ""},
		{"NUL in device ID", "POST", "/api/v1/devices/%00/block", bearer, ""},
		{"NUL in tenant ID", "GET", "/api/v1/tenants/%00", bearer, ""},
		{"NUL in thumbprint", "GET",
			"/api/v1/tenants/" + tenantID + "/certificates/%00/chain", bearer, ""},
		{"invalid UTF-8 in path", "GET", "/api/v1/tenants/%ff%fe", bearer, ""},
		{"encoded slash in path", "GET", "/api/v1/tenants/a%2Fb/devices", bearer, ""},
		{"huge query", "GET", "/api/v1/devices?limit=10&after=" + long + "&x=" + long,
			bearer, ""},
		{"repeated query keys", "GET", "/api/v1/audit?limit=1&limit=abc&before=%00",
			bearer, ""},
		{"PATCH tenants", "PATCH", "/api/v1/tenants", bearer, "{}"},
		{"PUT devices", "PUT", "/api/v1/devices", bearer, "{}"},
		{"DELETE tenant", "DELETE", "/api/v1/tenants/" + tenantID, bearer, ""},
		{"OPTIONS tokens", "OPTIONS", "/api/v1/tokens", bearer, ""},
		{"made-up method", "BREW", "/api/v1/whoami", bearer, ""},
		{"HEAD audit", "HEAD", "/api/v1/audit", bearer, ""},
		{"unknown path", "GET", "/api/v2/tenants", bearer, ""},
		{"long bearer token", "GET", "/api/v1/whoami",
			http.Header{"Authorization": {"Bearer " + long}}, ""},
		{"non-ASCII bearer token", "GET", "/api/v1/whoami",
			http.Header{"Authorization": {"Bearer hm_é" + strings.Repeat("é", 21)}}, ""},
		{"deeply nested JSON", "POST", "/api/v1/tenants", withType("application/json"),
			deep},
		{"JSON with NUL", "POST", "/api/v1/tenants", withType("application/json"),
			"{\"name\":\"a\x00b\"}"},
		{"bad media type parameter", "POST", "/api/v1/tenants",
			withType(`application/json; charset="`), `{"name":"x"}`},
		{"GET with a body", "GET", "/api/v1/tenants", withType("application/json"),
			`{"name":"x"}`},
		{"claim with a body", "POST", "/api/v1/tenants/" + tenantID + "/devices/" +
			newDeviceID(t) + "/claim", http.Header{"Authorization": {"Bearer " + admin},
			"Content-Type": {"text/plain"}}, long},
		{"batch of one long line", "POST", "/api/v1/devices", withType("text/csv"),
			"device_id\n" + long + long + "\n"},
		{"batch of NULs", "POST", "/api/v1/devices", withType("application/x-ndjson"),
			strings.Repeat("\x00", 5000)},
		{"CSV header only quote", "POST", "/api/v1/devices", withType("text/csv"), `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := h.request(tt.method, tt.path, tt.header, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if r.status >= 500 {
				t.Errorf("%s %s = %d %s", tt.method, cut(tt.path), r.status, cut(string(r.body)))
			}
		})
	}
	// A chunked body, whose length the server learns only by reading it.
	t.Run("chunked body over the limit", func(t *testing.T) {
		body := io.MultiReader(strings.NewReader(`{"name":"`),
			strings.NewReader(strings.Repeat("a", 100<<10)), strings.NewReader(`"}`))
		r, err := h.request("POST", "/api/v1/tenants", withType("application/json"), body)
		if err != nil {
			t.Fatal(err)
		}
		if r.status != 413 || r.code() != "body_too_large" {
			t.Errorf("status = %d %s, want 413 body_too_large", r.status, r.body)
		}
	})

	h.must(200, "GET", "/healthz", "", nil)
	h.must(200, "GET", "/api/v1/whoami", h.operator, nil)
	h.must(200, "GET", "/api/v1/tenants/"+tenantID, admin, nil)
}
