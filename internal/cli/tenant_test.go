package cli

import "testing"

const (
	tenantAcme = `{"id": "` + tenantID + `", "name": "acme", ` +
		`"created_at": "2026-03-01T10:00:00Z"}`
	tenantBeta = `{"id": "` + otherTenantID + `", "name": "beta", ` +
		`"created_at": "2026-03-02T11:30:00+01:00"}`
	acmeText = "id       " + tenantID + "\nname     acme\ncreated  2026-03-01T10:00:00Z\n"
)

func TestWhoami(t *testing.T) {
	runCases(t, []cliCase{
		{name: "operator", args: []string{"whoami"},
			replies:  []fakeReply{{"GET /api/v1/whoami", 200, whoamiOperator}},
			want:     result{0, "token  tok-op\nrole   operator\n", ""},
			requests: []received{call("GET /api/v1/whoami")}},
		{name: "tenant admin", args: []string{"whoami"},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiTenantAdmin}},
			want: result{0, "token   tok-ta\nrole    tenant-admin\ntenant  " + tenantID + "\n",
				""},
			requests: []received{call("GET /api/v1/whoami")}},
		{name: "json", args: []string{"whoami", "--output", "json"},
			replies:  []fakeReply{{"GET /api/v1/whoami", 200, whoamiTenantAdmin}},
			want:     result{0, whoamiTenantAdmin + "\n", ""},
			requests: []received{call("GET /api/v1/whoami")}},
	})
}

func TestTenantCommands(t *testing.T) {
	createAcme := call("POST /api/v1/tenants", "application/json", `{"name":"acme"}`)
	runCases(t, []cliCase{
		{name: "create", args: []string{"tenant", "create", "acme"},
			replies:  []fakeReply{{"POST /api/v1/tenants", 201, tenantAcme}},
			want:     result{0, acmeText, ""},
			requests: []received{createAcme}},
		{name: "create json", args: []string{"tenant", "create", "--output=json", "acme"},
			replies:  []fakeReply{{"POST /api/v1/tenants", 201, tenantAcme}},
			want:     result{0, tenantAcme + "\n", ""},
			requests: []received{createAcme}},
		{name: "create taken", args: []string{"tenant", "create", "acme"},
			replies: []fakeReply{{"POST /api/v1/tenants", 409,
				errJSON("tenant_name_taken", `a tenant named \"acme\" exists`, "")}},
			want: result{1, "", "hallmark: error: tenant_name_taken: " +
				"a tenant named \"acme\" exists\n"},
			requests: []received{createAcme}},
		{name: "list", args: []string{"tenant", "list"},
			replies: []fakeReply{{"GET /api/v1/tenants", 200,
				`{"tenants": [` + tenantAcme + `, ` + tenantBeta + `]}`}},
			want: result{0, "ID                                    NAME  CREATED\n" +
				tenantID + "  acme  2026-03-01T10:00:00Z\n" +
				otherTenantID + "  beta  2026-03-02T10:30:00Z\n", ""},
			requests: []received{call("GET /api/v1/tenants")}},
		{name: "list empty", args: []string{"tenant", "list"},
			replies:  []fakeReply{{"GET /api/v1/tenants", 200, `{"tenants": []}`}},
			want:     result{0, "no tenants\n", ""},
			requests: []received{call("GET /api/v1/tenants")}},
		{name: "list json", args: []string{"tenant", "list", "--output", "json"},
			replies:  []fakeReply{{"GET /api/v1/tenants", 200, `{"tenants": []}`}},
			want:     result{0, "{\"tenants\": []}\n", ""},
			requests: []received{call("GET /api/v1/tenants")}},
		{name: "list forbidden", args: []string{"tenant", "list"},
			replies: []fakeReply{{"GET /api/v1/tenants", 403,
				errJSON("forbidden", "a tenant-admin token may not do this", "")}},
			want: result{1, "", "hallmark: error: forbidden: " +
				"a tenant-admin token may not do this\n"},
			requests: []received{call("GET /api/v1/tenants")}},
		{name: "show by ID", args: []string{"tenant", "show", tenantID},
			replies:  []fakeReply{{"GET /api/v1/tenants/" + tenantID, 200, tenantAcme}},
			want:     result{0, acmeText, ""},
			requests: []received{call("GET /api/v1/tenants/" + tenantID)}},
		{name: "show own tenant", args: []string{"tenant", "show"},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiTenantAdmin},
				{"GET /api/v1/tenants/" + tenantID, 200, tenantAcme}},
			want: result{0, acmeText, ""},
			requests: []received{call("GET /api/v1/whoami"),
				call("GET /api/v1/tenants/" + tenantID)}},
		{name: "show without tenant", args: []string{"tenant", "show"},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiOperator}},
			want: result{1, "", "hallmark: error: the operator token belongs to no tenant\n" +
				"hallmark: hint: name the tenant: hallmark tenant show ID\n"},
			requests: []received{call("GET /api/v1/whoami")}},
		{name: "show escapes the ID", args: []string{"tenant", "show", "../tokens"},
			want: result{1, "", "hallmark: error: not_found: no such endpoint\n" +
				"hallmark: hint: the API lives under /api/v1/\n"},
			requests: []received{call("GET /api/v1/tenants/..%2Ftokens")}},
		{name: "show not found", args: []string{"tenant", "show", otherTenantID},
			replies: []fakeReply{{"GET /api/v1/tenants/" + otherTenantID, 404,
				errJSON("tenant_not_found", "no such tenant", "")}},
			want:     result{1, "", "hallmark: error: tenant_not_found: no such tenant\n"},
			requests: []received{call("GET /api/v1/tenants/" + otherTenantID)}},
	})
}
