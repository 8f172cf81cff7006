package server

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBadInput sends malformed requests to each endpoint: each must fail
// with its status and code and change nothing but the audit log.
func TestBadInput(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, db(t))
			rt := newRoleTokens(h)
			h.must(201, "POST", "/api/v1/tenants/"+rt.tenantA+"/devices/"+rt.device+"/claim",
				rt.tenantAdmin, nil)
			cases := slices.Concat(badJSONCases(h, rt), badBatchCases(h, rt),
				badParameterCases(h, rt))
			if name != "sqlite" {
				// Reads fail before the database is asked; changes are what
				// each backend must roll back on its own.
				cases = slices.DeleteFunc(cases, func(c apiCase) bool {
					return c.method == "GET"
				})
			}
			h.expect(t, cases...)
		})
	}
}

// jsonEndpoint is an endpoint that takes a JSON body.
type jsonEndpoint struct {
	name, path, token, action string
	field, value              string // a string field and a valid value
}

func badJSONCases(h *harness, rt roleTokens) []apiCase {
	proofPath := "/api/v1/tenants/" + rt.tenantA + "/certificates/active/proof"
	endpoints := []jsonEndpoint{
		{"tenants", "/api/v1/tenants", rt.operator, "tenant.create", "name", "new"},
		{"tokens", "/api/v1/tokens", rt.operator, "token.create", "role", "manufacturer"},
		{"proof", proofPath, rt.tenantAdmin, "ca.proof", "verification_code",
			"ABCDEF0123456789"},
	}
	var cases []apiCase
	for _, e := range endpoints {
		c := func(name, ctype string, body any, status int, code string) apiCase {
			return apiCase{name: e.name + "/" + name, method: "POST", path: e.path,
				token: e.token, ctype: ctype, body: body, status: status, code: code,
				action: e.action}
		}
		inner := `{"` + e.field + `":"` + e.value + `"`
		valid := inner + "}"
		cases = append(cases,
			c("unknown field", "", inner+`,"admin":true}`, 400, "unknown_field"),
			c("truncated JSON", "", inner, 400, "invalid_json"),
			c("trailing comma", "", inner+",}", 400, "invalid_json"),
			c("not JSON", "", "name=new", 400, "invalid_json"),
			c("array", "", "["+valid+"]", 400, "invalid_json"),
			c("number for string", "", `{"`+e.field+`":4}`, 400, "invalid_json"),
			c("object for string", "", `{"`+e.field+`":{}}`, 400, "invalid_json"),
			c("two objects", "", valid+valid, 400, "invalid_json"),
			c("object and garbage", "", valid+" x", 400, "invalid_json"),
			c("empty body", "", "", 400, "invalid_json"),
			c("no body", "", nil, 400, "invalid_json"),
			c("over the limit", "", inner+`,"x":"`+strings.Repeat("a", 64<<10)+`"}`, 413,
				"body_too_large"),
			c("padded over the limit", "", valid+strings.Repeat(" ", 64<<10), 413,
				"body_too_large"),
			c("text/plain", "text/plain", valid, 415, "unsupported_media_type"),
			c("bad media type", "json", valid, 415, "unsupported_media_type"),
		)
	}

	tenants := func(name string, body any, status int, code string) apiCase {
		return apiCase{name: "tenants/" + name, method: "POST", path: "/api/v1/tenants",
			token: rt.operator, body: body, status: status, code: code,
			action: "tenant.create"}
	}
	for _, n := range []struct{ defect, name string }{
		{"empty", ""},
		{"leading space", " acme2"},
		{"trailing space", "acme2 "},
		{"too long", strings.Repeat("a", 65)},
		{"slash", "acme/2"},
		{"semicolon", "acme;drop"},
		{"tab", "acme\t2"},
		{"newline", "acme\n2"},
		{"NUL", "acme\x002"},
		{"non-ASCII", "acmé"},
	} {
		cases = append(cases, tenants("name "+n.defect, map[string]string{"name": n.name},
			400, "invalid_tenant_name"))
	}
	cases = append(cases,
		tenants("null name", `{"name":null}`, 400, "invalid_tenant_name"),
		tenants("duplicate name", map[string]string{"name": "acme"}, 409, "tenant_name_taken"),
		tenants("duplicate of other name", map[string]string{"name": "globex"}, 409,
			"tenant_name_taken"))

	tokens := func(name string, body map[string]string, status int, code string) apiCase {
		return apiCase{name: "tokens/" + name, method: "POST", path: "/api/v1/tokens",
			token: rt.operator, body: body, status: status, code: code,
			action: "token.create"}
	}
	cases = append(cases,
		tokens("no role", map[string]string{}, 400, "invalid_role"),
		tokens("empty role", map[string]string{"role": ""}, 400, "invalid_role"),
		tokens("unknown role", map[string]string{"role": "admin"}, 400, "invalid_role"),
		tokens("role in capitals", map[string]string{"role": "Operator"}, 400,
			"invalid_role"),
		tokens("role with space", map[string]string{"role": "operator "}, 400,
			"invalid_role"),
		tokens("long role", map[string]string{"role": strings.Repeat("r", 1000)}, 400,
			"invalid_role"),
		tokens("expiry not a duration", map[string]string{"role": "manufacturer",
			"expires_in": "soon"}, 400, "invalid_expiry"),
		tokens("expiry in days", map[string]string{"role": "manufacturer",
			"expires_in": "30d"}, 400, "invalid_expiry"),
		tokens("expiry zero", map[string]string{"role": "manufacturer",
			"expires_in": "0s"}, 400, "invalid_expiry"),
		tokens("expiry negative", map[string]string{"role": "manufacturer",
			"expires_in": "-1h"}, 400, "invalid_expiry"),
		tokens("name too long", map[string]string{"role": "manufacturer",
			"name": strings.Repeat("n", 129)}, 400, "invalid_token_name"),
		tokens("manufacturer with tenant", map[string]string{"role": "manufacturer",
			"tenant_id": rt.tenantA}, 400, "invalid_tenant"),
		tokens("operator with tenant", map[string]string{"role": "operator",
			"tenant_id": rt.tenantA}, 400, "invalid_tenant"),
		// A tenant role without a tenant names no tenant that exists.
		tokens("tenant admin without tenant", map[string]string{"role": "tenant-admin"},
			400, "invalid_tenant"),
		tokens("tenant reader without tenant", map[string]string{"role": "tenant-reader"},
			400, "invalid_tenant"),
		tokens("tenant admin of unknown tenant", map[string]string{"role": "tenant-admin",
			"tenant_id": randomUUID()}, 404, "tenant_not_found"),
		tokens("tenant admin of malformed tenant", map[string]string{"role": "tenant-admin",
			"tenant_id": "acme"}, 404, "tenant_not_found"),
	)

	proof := func(name, query string, body map[string]string, status int,
		code string) apiCase {
		return apiCase{name: "proof/" + name, method: "POST", path: proofPath + query,
			token: rt.tenantAdmin, body: body, status: status, code: code, action: "ca.proof"}
	}
	for _, v := range []struct{ defect, code string }{
		{"empty", ""},
		{"seven characters", "ABCDEF0"},
		{"65 characters", strings.Repeat("A", 65)},
		{"space", "ABCDEF 0123"},
		{"equals", "CN=ABCDEF0123"},
		{"NUL", "ABCDEF\x000123"},
		{"non-ASCII letter", "ÄBCDEF0123"},
		{"full-width digits", "ABCDEF０１２３"},
	} {
		cases = append(cases, proof("code "+v.defect, "",
			map[string]string{"verification_code": v.code}, 400, "invalid_verification_code"))
	}
	good := "ABCDEF0123456789"
	for _, l := range []string{"61m", "1h0m0.001s", "0s", "-5m", "forever"} {
		cases = append(cases, proof("lifetime "+l, "",
			map[string]string{"verification_code": good, "lifetime": l}, 400,
			"invalid_lifetime"))
	}
	cases = append(cases,
		proof("format pkcs7", "?format=pkcs7", map[string]string{"verification_code": good},
			400, "invalid_format"),
		proof("format in capitals", "?format=PEM",
			map[string]string{"verification_code": good}, 400, "invalid_format"),
		apiCase{name: "proof/unknown thumbprint", method: "POST", path: "/api/v1/tenants/" +
			rt.tenantA + "/certificates/" + strings.Repeat("0", 64) + "/proof",
			token: rt.tenantAdmin, body: map[string]string{"verification_code": good},
			status: 404, code: "ca_not_found", action: "ca.proof"})
	return cases
}

// badBatchCases are refused device batches. Line numbers count the CSV
// header.
func badBatchCases(h *harness, rt roleTokens) []apiCase {
	good := newDeviceID(h.t)
	offCurve := strings.Repeat("0", 128)
	upper := strings.ToUpper(good)
	batch := func(name, ctype, body string, status int, code string) apiCase {
		return apiCase{name: "batch/" + name, method: "POST", path: "/api/v1/devices",
			token: rt.manufacturer, ctype: ctype, body: body, status: status, code: code,
			action: "device.register"}
	}
	big := func(ctype, line string) string {
		var b strings.Builder
		if ctype == "text/csv" {
			b.WriteString("device_id,pad\n")
		}
		for b.Len() <= 8<<20 {
			b.WriteString(line)
		}
		return b.String()
	}
	pad := strings.Repeat("p", 3800) // lines stay under registry.MaxLineLen
	return []apiCase{
		batch("CSV without device_id column", "text/csv", "id,batch\n"+good+",b1\n", 400,
			"invalid_batch"),
		batch("CSV with device_id twice", "text/csv", "device_id,device_id\n"+good+","+
			good+"\n", 400, "invalid_batch"),
		batch("CSV empty", "text/csv", "", 400, "invalid_batch"),
		batch("CSV header only", "text/csv", "device_id\n", 400, "invalid_batch"),
		batch("JSON lines empty", "application/x-ndjson", "", 400, "invalid_batch"),
		batch("JSON lines blank", "application/x-ndjson", "\n\n  \n", 400, "invalid_batch"),
		batch("CSV line too long", "text/csv", "device_id\n"+good+","+
			strings.Repeat("x", 5000)+"\n", 400, "invalid_batch"),
		batch("CSV over the limit", "text/csv", big("text/csv", good+","+pad+"\n"), 413,
			"body_too_large"),
		batch("JSON lines over the limit", "application/x-ndjson",
			`{"device_id":"`+good+`"}`+"\n"+big("", strings.Repeat(" ", 3800)+"\n"), 413,
			"body_too_large"),
		batch("JSON media type", "application/json", `{"device_id":"`+good+`"}`, 415,
			"unsupported_media_type"),
		batch("plain text", "text/plain", good+"\n", 415, "unsupported_media_type"),
		batch("no media type", "none", "device_id\n"+good+"\n", 415, "unsupported_media_type"),
		batch("bad CSV lines", "text/csv", "device_id,batch\n"+
			good+",b1\n"+
			"abc,b1\n"+
			upper+",b1\n"+
			offCurve+",b1\n"+
			",b1\n"+
			"\"bad\"quote,b1\n", 400, "invalid_batch"),
		batch("bad JSON lines", "application/x-ndjson", `{"device_id":"`+good+`"}`+"\n"+
			`{"device_id":"abc"}`+"\n"+
			"not json\n"+
			`{"device_id":"`+good+`","batch":"b1"}`+"\n"+
			"\n"+
			`{}`+"\n"+
			`{"device_id":"`+offCurve+`"}`+"\n", 400, "invalid_batch"),
	}
}

// badParameterCases have a bad path segment or query parameter.
func badParameterCases(h *harness, rt roleTokens) []apiCase {
	a := "/api/v1/tenants/" + rt.tenantA
	good := newDeviceID(h.t)
	bad := []struct{ defect, id string }{
		{"short", "abc"},
		{"long", good + "0"},
		{"capitals", strings.ToUpper(good)},
		{"not hex", "g" + good[1:]},
		{"off curve", strings.Repeat("0", 128)},
	}
	var cases []apiCase
	for i, b := range bad {
		c := func(route, method, path, token, action string) apiCase {
			return apiCase{name: route + "/device ID " + b.defect, method: method, path: path,
				token: token, status: 400, code: "invalid_device_id", action: action}
		}
		cases = append(cases,
			c("claim", "POST", a+"/devices/"+b.id+"/claim", rt.tenantAdmin, "device.claim"),
			c("block", "POST", "/api/v1/devices/"+b.id+"/block", rt.operator,
				"device.block"))
		if i%2 == 0 { // enough to show that each route checks
			cases = append(cases,
				c("get device", "GET", "/api/v1/devices/"+b.id, rt.operator, ""),
				c("unblock", "POST", "/api/v1/devices/"+b.id+"/unblock", rt.operator,
					"device.unblock"),
				c("get tenant device", "GET", a+"/devices/"+b.id, rt.tenantReader, ""))
		}
	}

	c := func(name, path, token string, code string) apiCase {
		return apiCase{name: name, method: "GET", path: path, token: token, status: 400,
			code: code}
	}
	for _, v := range []string{"0", "1001", "abc", "99999999999999999999"} {
		cases = append(cases,
			c("all devices/limit "+v, "/api/v1/devices?limit="+v, rt.operator, "invalid_limit"),
			c("tenant devices/limit "+v, a+"/devices?limit="+v, rt.tenantReader,
				"invalid_limit"),
			c("audit/limit "+v, "/api/v1/audit?limit="+v, rt.operator, "invalid_limit"))
	}
	for _, v := range []string{"-1", "1.5", "1e3"} {
		cases = append(cases, c("all devices/limit "+v, "/api/v1/devices?limit="+v,
			rt.operator, "invalid_limit"))
	}
	for _, v := range []string{"0", "-1", "x"} {
		cases = append(cases, c("audit/before "+v, "/api/v1/audit?before="+v, rt.operator,
			"invalid_cursor"))
	}
	ca := a + "/certificates/" + rt.thumbprintA
	for _, f := range []struct{ name, path string }{
		{"CA pkcs7", ca + "?format=pkcs7"},
		{"CA PEM in capitals", ca + "?format=PEM"},
		{"CA unknown", ca + "?format=xml"},
		{"chain der", ca + "/chain?format=der"},
		{"chain p7b", ca + "/chain?format=p7b"},
		{"active chain unknown", a + "/certificates/active/chain?format=json"},
	} {
		cases = append(cases, c("format/"+f.name, f.path, rt.tenantReader, "invalid_format"))
	}
	cases = append(cases,
		apiCase{name: "unknown thumbprint", method: "GET", path: a + "/certificates/00",
			token: rt.tenantReader, status: 404, code: "ca_not_found"},
		apiCase{name: "unregistered device", method: "GET", path: a + "/devices/" + good,
			token: rt.tenantReader, status: 404, code: "device_not_found"},
		apiCase{name: "unknown token", method: "DELETE", path: "/api/v1/tokens/tok_0000",
			token: rt.operator, status: 404, code: "token_not_found", action: "token.revoke"},
	)
	return cases
}

// TestBatchLineErrors checks that a refused batch names each bad line by
// its number and code.
func TestBatchLineErrors(t *testing.T) {
	h := start(t, "sqlite")
	mfg := h.newToken("manufacturer", "")
	rt := roleTokens{manufacturer: mfg}
	type line struct {
		Line int
		Code string
	}
	want := map[string][]line{
		"batch/bad CSV lines": {{3, "invalid_length"}, {4, "invalid_hex"},
			{5, "not_on_curve"}, {6, "missing_device_id"}, {7, "invalid_csv"}},
		"batch/bad JSON lines": {{2, "invalid_length"}, {3, "invalid_json"},
			{4, "unknown_field"}, {6, "missing_device_id"}, {7, "not_on_curve"}},
	}
	t.Run("more bad lines than listed", func(t *testing.T) {
		h := h.sub(t)
		r := h.callType("POST", "/api/v1/devices", mfg, "text/csv",
			"device_id\n"+strings.Repeat("abc\n", 150))
		var e struct {
			Error struct {
				Lines     []line
				MoreLines int `json:"more_lines"`
			}
		}
		r.json(t, &e)
		if r.status != 400 || len(e.Error.Lines) != 100 || e.Error.MoreLines != 50 {
			t.Fatalf("status %d, %d lines and %d more; want 400, 100 and 50", r.status,
				len(e.Error.Lines), e.Error.MoreLines)
		}
		if first, last := e.Error.Lines[0], e.Error.Lines[99]; first.Line != 2 ||
			last.Line != 101 {
			t.Errorf("lines listed from %d to %d, want 2 to 101", first.Line, last.Line)
		}
	})
	for _, c := range badBatchCases(h, rt) {
		lines, ok := want[c.name]
		if !ok {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			h := h.sub(t)
			r := h.callType(c.method, c.path, c.token, c.ctype, c.body)
			var e struct {
				Error struct {
					Code  string
					Lines []line
				}
			}
			r.json(t, &e)
			if r.status != 400 || e.Error.Code != "invalid_batch" {
				t.Fatalf("status = %d %s, want 400 invalid_batch", r.status, r.body)
			}
			if diff := cmp.Diff(lines, e.Error.Lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBatchAllOrNothing registers a large batch with one bad line: none of
// its devices may be registered.
func TestBatchAllOrNothing(t *testing.T) {
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = newDeviceID(t)
	}
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, db(t))
			mfg := h.newToken("manufacturer", "")
			h.register(ids[0]) // one is registered already

			csv := "device_id\n" + strings.Join(ids[:500], "\n") + "\n" +
				strings.ToUpper(ids[500]) + "\n" + strings.Join(ids[500:], "\n") + "\n"
			var jsonl strings.Builder
			for _, id := range ids {
				jsonl.WriteString(`{"device_id":"` + id + `"}` + "\n")
			}
			jsonl.WriteString(`{"device_id":"` + ids[0][:127] + `"}` + "\n")

			h.expect(t, apiCase{name: "CSV bad line in the middle", method: "POST",
				path: "/api/v1/devices", token: mfg, ctype: "text/csv", body: csv, status: 400,
				code: "invalid_batch", action: "device.register"},
				apiCase{name: "JSON lines bad last line", method: "POST",
					path: "/api/v1/devices", token: mfg, ctype: "application/x-ndjson",
					body: jsonl.String(), status: 400, code: "invalid_batch",
					action: "device.register"})

			// Without the bad line the batch is good.
			r := h.callType("POST", "/api/v1/devices", mfg, "text/csv",
				"device_id\n"+strings.Join(ids, "\n")+"\n")
			var res struct{ Received, Created, Existing int }
			r.json(t, &res)
			if r.status != 200 || res != (struct{ Received, Created, Existing int }{1000, 999,
				1}) {
				t.Fatalf("good batch = %d %s", r.status, r.body)
			}
		})
	}
}
