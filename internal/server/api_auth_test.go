package server

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAuthentication(t *testing.T) {
	h := start(t, "sqlite")
	revoked := h.createToken(map[string]string{"role": "manufacturer"})
	h.must(200, "DELETE", "/api/v1/tokens/"+revoked.ID, h.operator, nil)
	expired := h.createToken(map[string]string{"role": "manufacturer", "expires_in": "1ms"})
	time.Sleep(20 * time.Millisecond)

	// unknown has the form of a secret, but no token has it.
	unknown := "hm_" + strings.Repeat("A", 43)
	bad43 := strings.Repeat("A", 42)
	tests := []struct {
		name   string
		header []string // Authorization values; none for no header
		code   string
	}{
		{"no header", nil, "token_missing"},
		{"empty header", []string{""}, "token_missing"},
		{"basic scheme", []string{"Basic dXNlcjpwYXNz"}, "token_malformed"},
		{"secret without scheme", []string{h.operator}, "token_malformed"},
		{"bearer without secret", []string{"Bearer"}, "token_malformed"},
		{"bearer and a space", []string{"Bearer "}, "token_malformed"},
		{"two spaces", []string{"Bearer  " + h.operator}, "token_malformed"},
		{"wrong prefix", []string{"Bearer hx_" + h.operator[3:]}, "token_malformed"},
		{"no prefix", []string{"Bearer " + h.operator[3:]}, "token_malformed"},
		{"one character short", []string{"Bearer " + h.operator[:len(h.operator)-1]},
			"token_malformed"},
		{"one character long", []string{"Bearer " + h.operator + "A"}, "token_malformed"},
		{"padding", []string{"Bearer hm_" + bad43 + "="}, "token_malformed"},
		{"standard base64", []string{"Bearer hm_" + bad43 + "+"}, "token_malformed"},
		{"non-canonical last character", []string{"Bearer hm_" + bad43 + "B"},
			"token_malformed"},
		{"non-ASCII", []string{"Bearer hm_" + bad43[:40] + "é"}, "token_malformed"},
		{"a token ID", []string{"Bearer " + revoked.ID}, "token_malformed"},
		{"unknown token", []string{"Bearer " + unknown}, "token_invalid"},
		{"revoked token", []string{"Bearer " + revoked.Secret}, "token_revoked"},
		{"expired token", []string{"Bearer " + expired.Secret}, "token_expired"},
	}
	// Requests that are not authenticated change nothing and leave no audit
	// entry: the store is the same after them all.
	before := h.snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, route := range []struct{ method, path, ctype, body string }{
				{"GET", "/api/v1/whoami", "", ""},
				{"POST", "/api/v1/tenants", "application/json", `{"name":"intruder"}`},
				{"POST", "/api/v1/devices", "text/csv", "device_id\n" + newDeviceID(t) + "\n"},
				{"DELETE", "/api/v1/tokens/" + revoked.ID, "", ""},
			} {
				header := http.Header{}
				if route.ctype != "" {
					header.Set("Content-Type", route.ctype)
				}
				if tt.header != nil {
					header["Authorization"] = tt.header
				}
				r, err := h.request(route.method, route.path, header,
					strings.NewReader(route.body))
				if err != nil {
					t.Fatal(err)
				}
				if r.status != 401 || r.code() != tt.code {
					t.Errorf("%s %s = %d %s, want 401 %s", route.method, route.path,
						r.status, r.body, tt.code)
				}
			}
		})
	}
	h.unchanged(before, "", "")

	// A valid token still works, and so does the scheme in other cases.
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		r, err := h.request("GET", "/api/v1/whoami",
			http.Header{"Authorization": {scheme + " " + h.operator}}, nil)
		if err != nil || r.status != 200 {
			t.Errorf("whoami with scheme %q = %d %s %v", scheme, r.status, r.body, err)
		}
	}
}

// roleTokens are a token of each role, the tenant ones for tenant A.
type roleTokens struct {
	tenantA, tenantB     string
	operator             string
	manufacturer         string
	tenantAdmin          string
	tenantReader         string
	device, thumbprintA  string
	readerID, otherAdmin string // a reader token ID of A; an admin token of B
}

func newRoleTokens(h *harness) roleTokens {
	h.t.Helper()
	var rt roleTokens
	rt.operator = h.operator
	rt.tenantA, rt.tenantAdmin = h.createTenant("acme")
	rt.tenantB, rt.otherAdmin = h.createTenant("globex")
	rt.manufacturer = h.newToken("manufacturer", "")
	reader := h.createToken(map[string]string{"role": "tenant-reader", "tenant_id": rt.tenantA})
	rt.tenantReader, rt.readerID = reader.Secret, reader.ID
	rt.device = newDeviceID(h.t)
	h.register(rt.device)
	rt.thumbprintA = h.thumbprint(rt.tenantA, rt.tenantAdmin)
	return rt
}

// forbiddenCases are requests whose role may not make them, each in the
// caller's own tenant where it has one.
func forbiddenCases(h *harness, rt roleTokens) []apiCase {
	a := "/api/v1/tenants/" + rt.tenantA
	dev := "/api/v1/devices/" + rt.device
	claim := a + "/devices/" + rt.device + "/claim"
	proof := a + "/certificates/" + rt.thumbprintA + "/proof"
	code := map[string]string{"verification_code": "ABCDEF0123456789"}
	csv := "device_id\n" + newDeviceID(h.t) + "\n"
	c := func(name, method, path, token string, body any, action string) apiCase {
		return apiCase{name: name, method: method, path: path, token: token, body: body,
			status: 403, code: "forbidden", action: action}
	}
	batch := func(name, token string) apiCase {
		k := c(name, "POST", "/api/v1/devices", token, csv, "device.register")
		k.ctype = "text/csv"
		return k
	}
	return []apiCase{
		c("manufacturer creates tenant", "POST", "/api/v1/tenants", rt.manufacturer,
			map[string]string{"name": "mfg"}, "tenant.create"),
		c("manufacturer lists tenants", "GET", "/api/v1/tenants", rt.manufacturer, nil, ""),
		c("manufacturer reads tenant", "GET", a, rt.manufacturer, nil, ""),
		c("manufacturer reads tenant certificates", "GET", a+"/certificates",
			rt.manufacturer, nil, ""),
		c("manufacturer downloads tenant CA", "GET", a+"/certificates/active",
			rt.manufacturer, nil, ""),
		c("manufacturer lists tenant devices", "GET", a+"/devices", rt.manufacturer, nil, ""),
		c("manufacturer claims", "POST", claim, rt.manufacturer, nil, "device.claim"),
		c("manufacturer creates token", "POST", "/api/v1/tokens", rt.manufacturer,
			map[string]string{"role": "manufacturer"}, "token.create"),
		c("manufacturer lists tokens", "GET", "/api/v1/tokens", rt.manufacturer, nil, ""),
		c("manufacturer revokes token", "DELETE", "/api/v1/tokens/"+rt.readerID,
			rt.manufacturer, nil, "token.revoke"),
		c("manufacturer reads audit log", "GET", "/api/v1/audit", rt.manufacturer, nil, ""),
		c("manufacturer lists all devices", "GET", "/api/v1/devices", rt.manufacturer,
			nil, ""),
		c("manufacturer blocks device", "POST", dev+"/block", rt.manufacturer, nil,
			"device.block"),

		c("tenant admin creates tenant", "POST", "/api/v1/tenants", rt.tenantAdmin,
			map[string]string{"name": "mine"}, "tenant.create"),
		c("tenant admin lists tenants", "GET", "/api/v1/tenants", rt.tenantAdmin, nil, ""),
		c("tenant admin lists all devices", "GET", "/api/v1/devices", rt.tenantAdmin,
			nil, ""),
		c("tenant admin reads any device", "GET", dev, rt.tenantAdmin, nil, ""),
		c("tenant admin reads audit log", "GET", "/api/v1/audit", rt.tenantAdmin, nil, ""),
		c("tenant admin blocks device", "POST", dev+"/block", rt.tenantAdmin, nil,
			"device.block"),
		c("tenant admin unblocks device", "POST", dev+"/unblock", rt.tenantAdmin, nil,
			"device.unblock"),
		batch("tenant admin registers devices", rt.tenantAdmin),
		c("tenant admin creates operator token", "POST", "/api/v1/tokens", rt.tenantAdmin,
			map[string]string{"role": "operator"}, "token.create"),
		c("tenant admin creates manufacturer token", "POST", "/api/v1/tokens",
			rt.tenantAdmin, map[string]string{"role": "manufacturer"}, "token.create"),

		c("tenant reader claims", "POST", claim, rt.tenantReader, nil, "device.claim"),
		c("tenant reader asks for proof", "POST", proof, rt.tenantReader, code, "ca.proof"),
		c("tenant reader creates token", "POST", "/api/v1/tokens", rt.tenantReader,
			map[string]string{"role": "tenant-reader"}, "token.create"),
		c("tenant reader lists tokens", "GET", "/api/v1/tokens", rt.tenantReader, nil, ""),
		c("tenant reader revokes own token", "DELETE", "/api/v1/tokens/"+rt.readerID,
			rt.tenantReader, nil, "token.revoke"),
		c("tenant reader lists all devices", "GET", "/api/v1/devices", rt.tenantReader,
			nil, ""),
		c("tenant reader blocks device", "POST", dev+"/block", rt.tenantReader, nil,
			"device.block"),
		batch("tenant reader registers devices", rt.tenantReader),

		c("operator claims", "POST", "/api/v1/tenants/"+rt.tenantA+"/devices/"+rt.device+
			"/claim", rt.operator, nil, "device.claim"),
		c("operator asks for proof", "POST", proof, rt.operator, code, "ca.proof"),
	}
}

// TestRoles checks that each role is refused what it may not do, with 403,
// and that the refusal changes nothing but the audit log.
func TestRoles(t *testing.T) {
	h := start(t, "sqlite")
	rt := newRoleTokens(h)
	h.expect(t, forbiddenCases(h, rt)...)
	// What each role may do, to show that the tokens above are good ones.
	h.must(200, "GET", "/api/v1/whoami", rt.manufacturer, nil)
	h.must(200, "GET", "/api/v1/tenants/"+rt.tenantA+"/devices", rt.tenantReader, nil)
	h.must(201, "POST", "/api/v1/tenants/"+rt.tenantA+"/devices/"+rt.device+"/claim",
		rt.tenantAdmin, nil)
	var tok tokenInfo
	h.must(201, "POST", "/api/v1/tokens", rt.tenantAdmin,
		map[string]string{"role": "tenant-reader"}).json(t, &tok)
	h.must(200, "GET", "/api/v1/whoami", tok.Secret, nil)
}
