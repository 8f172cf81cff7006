package cli

import "testing"

const (
	tokenCreated = `{"id": "tok-ci", "secret": "hm_s3cr3t_test_value", "role": "tenant-admin", ` +
		`"tenant_id": "` + tenantID + `", "name": "ci", ` +
		`"created_at": "2026-03-01T10:00:00Z", "expires_at": "2026-03-31T10:00:00Z"}`
	tokenOperator = `{"id": "tok-op", "role": "operator", "created_at": "2026-01-01T00:00:00Z"}`
	tokenRevoked  = `{"id": "tok-ci", "role": "tenant-admin", "tenant_id": "` + tenantID +
		`", "name": "ci", "created_at": "2026-03-01T10:00:00Z", ` +
		`"expires_at": "2026-03-31T10:00:00Z", "revoked_at": "2026-03-02T09:00:00Z"}`
)

func TestTokenCommands(t *testing.T) {
	createBody := `{"role":"tenant-admin","tenant_id":"` + tenantID +
		`","name":"ci","expires_in":"720h"}`
	create := call("POST /api/v1/tokens", "application/json", createBody)
	runCases(t, []cliCase{
		{name: "create", args: []string{"token", "create", "--role", "tenant-admin",
			"--tenant", tenantID, "--name", "ci", "--expires-in", "720h"},
			replies: []fakeReply{{"POST /api/v1/tokens", 201, tokenCreated}},
			want: result{0, "id       tok-ci\n" +
				"role     tenant-admin\n" +
				"tenant   " + tenantID + "\n" +
				"name     ci\n" +
				"created  2026-03-01T10:00:00Z\n" +
				"expires  2026-03-31T10:00:00Z\n" +
				"secret   hm_s3cr3t_test_value\n\n" +
				"The secret is shown only now and will not be shown again; store it safely.\n",
				""},
			requests: []received{create}},
		{name: "create json", args: []string{"token", "create", "--role", "tenant-admin",
			"--tenant", tenantID, "--name", "ci", "--expires-in", "720h", "--output", "json"},
			replies:  []fakeReply{{"POST /api/v1/tokens", 201, tokenCreated}},
			want:     result{0, tokenCreated + "\n", ""},
			requests: []received{create}},
		{name: "create sends only given fields",
			args: []string{"token", "create", "--role=manufacturer"},
			replies: []fakeReply{{"POST /api/v1/tokens", 201, `{"id": "tok-mf", ` +
				`"secret": "hm_mf_test_value", "role": "manufacturer", ` +
				`"created_at": "2026-01-01T00:00:00Z"}`}},
			want: result{0, "id       tok-mf\nrole     manufacturer\n" +
				"created  2026-01-01T00:00:00Z\nexpires  never\nsecret   hm_mf_test_value\n\n" +
				"The secret is shown only now and will not be shown again; store it safely.\n",
				""},
			requests: []received{call("POST /api/v1/tokens", "application/json",
				`{"role":"manufacturer"}`)}},
		{name: "create bad role", args: []string{"token", "create", "--role", "root"},
			replies: []fakeReply{{"POST /api/v1/tokens", 400,
				errJSON("invalid_role", `unknown role \"root\"`, "")}},
			want: result{1, "", "hallmark: error: invalid_role: unknown role \"root\"\n"},
			requests: []received{call("POST /api/v1/tokens", "application/json",
				`{"role":"root"}`)}},
		{name: "list", args: []string{"token", "list"},
			replies: []fakeReply{{"GET /api/v1/tokens", 200,
				`{"tokens": [` + tokenOperator + `, ` + tokenRevoked + `]}`}},
			want: result{0, "ID      ROLE          TENANT                                " +
				"NAME  CREATED               EXPIRES               REVOKED\n" +
				"tok-op  operator      -                                     " +
				"-     2026-01-01T00:00:00Z  never                 -\n" +
				"tok-ci  tenant-admin  " + tenantID + "  " +
				"ci    2026-03-01T10:00:00Z  2026-03-31T10:00:00Z  2026-03-02T09:00:00Z\n", ""},
			requests: []received{call("GET /api/v1/tokens")}},
		{name: "list of a tenant", args: []string{"token", "list", "--tenant", tenantID},
			replies:  []fakeReply{{"GET /api/v1/tokens", 200, `{"tokens": []}`}},
			want:     result{0, "no tokens\n", ""},
			requests: []received{call("GET /api/v1/tokens?tenant_id=" + tenantID)}},
		{name: "list json", args: []string{"token", "list", "--output", "json"},
			replies:  []fakeReply{{"GET /api/v1/tokens", 200, `{"tokens": []}`}},
			want:     result{0, `{"tokens": []}` + "\n", ""},
			requests: []received{call("GET /api/v1/tokens")}},
		{name: "revoke", args: []string{"token", "revoke", "tok-ci"},
			replies:  []fakeReply{{"DELETE /api/v1/tokens/tok-ci", 200, tokenRevoked}},
			want:     result{0, "revoked token tok-ci\n", ""},
			requests: []received{call("DELETE /api/v1/tokens/tok-ci")}},
		{name: "revoke json", args: []string{"token", "revoke", "--output", "json", "tok-ci"},
			replies:  []fakeReply{{"DELETE /api/v1/tokens/tok-ci", 200, tokenRevoked}},
			want:     result{0, tokenRevoked + "\n", ""},
			requests: []received{call("DELETE /api/v1/tokens/tok-ci")}},
		{name: "revoke unknown", args: []string{"token", "revoke", "tok-x"},
			replies: []fakeReply{{"DELETE /api/v1/tokens/tok-x", 404,
				errJSON("token_not_found", "no such token", "")}},
			want:     result{1, "", "hallmark: error: token_not_found: no such token\n"},
			requests: []received{call("DELETE /api/v1/tokens/tok-x")}},
	})
}
