package cli

import "testing"

func TestAuditList(t *testing.T) {
	entries := `{"entries": [` +
		`{"seq": 42, "at": "2026-03-01T10:00:00Z", "token_id": "tok-op", ` +
		`"role": "operator", "action": "tenant.create", "target": "/api/v1/tenants", ` +
		`"result": "ok", "request_id": "9a1b", "detail": {"name": "acme"}}, ` +
		`{"seq": 41, "at": "2026-03-01T09:00:00Z", "token_id": "tok-ta", ` +
		`"role": "tenant-admin", "tenant_id": "` + tenantID + `", ` +
		`"action": "device.claim", "target": "/api/v1/tenants/x/devices/y/claim", ` +
		`"result": "device_claimed"}], "next": 41}`
	table := "SEQ  AT                    ROLE          TENANT" +
		"                                ACTION         TARGET" +
		"                             RESULT\n" +
		"42   2026-03-01T10:00:00Z  operator      -" +
		"                                     tenant.create  /api/v1/tenants" +
		"                    ok\n" +
		"41   2026-03-01T09:00:00Z  tenant-admin  " + tenantID +
		"  device.claim   /api/v1/tenants/x/devices/y/claim  device_claimed\n"

	runCases(t, []cliCase{
		{name: "first page", args: []string{"audit", "list"},
			replies:  []fakeReply{{"GET /api/v1/audit", 200, entries}},
			want:     result{0, table + "\nolder entries: use --before 41\n", ""},
			requests: []received{call("GET /api/v1/audit")}},
		{name: "limit and cursor", args: []string{"audit", "list", "--limit", "2",
			"--before", "43"},
			replies:  []fakeReply{{"GET /api/v1/audit", 200, entries}},
			want:     result{0, table + "\nolder entries: use --before 41\n", ""},
			requests: []received{call("GET /api/v1/audit?before=43&limit=2")}},
		{name: "last page", args: []string{"audit", "list", "--before", "1"},
			replies:  []fakeReply{{"GET /api/v1/audit", 200, `{"entries": []}`}},
			want:     result{0, "no audit entries\n", ""},
			requests: []received{call("GET /api/v1/audit?before=1")}},
		{name: "json", args: []string{"audit", "list", "--output", "json"},
			replies:  []fakeReply{{"GET /api/v1/audit", 200, entries}},
			want:     result{0, entries + "\n", ""},
			requests: []received{call("GET /api/v1/audit")}},
		{name: "not the operator", args: []string{"audit", "list"},
			replies: []fakeReply{{"GET /api/v1/audit", 403,
				errJSON("forbidden", "a manufacturer token may not do this", "")}},
			want: result{1, "", "hallmark: error: forbidden: " +
				"a manufacturer token may not do this\n"},
			requests: []received{call("GET /api/v1/audit")}},
	})
}
