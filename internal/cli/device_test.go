package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Device IDs of the tests: 128 lowercase hex characters, as the API sends
// them; the fake API does not check that they are points on P-256.
var (
	devA = strings.Repeat("a1", 64)
	devB = strings.Repeat("b2", 64)
	devC = strings.Repeat("c3", 64)
)

func deviceJSONFor(id, extra string) string {
	return `{"id": "` + id + `", "registered_at": "2026-02-01T08:00:00Z", ` +
		`"blocked": ` + extra + `}`
}

var (
	devAJSON = deviceJSONFor(devA, `false`)
	devBJSON = deviceJSONFor(devB, `false, "tenant_id": "`+tenantID+
		`", "claimed_at": "2026-02-03T09:00:00Z"`)
	devCJSON = deviceJSONFor(devC, `true, "blocked_at": "2026-02-04T12:00:00Z"`)
)

// deviceTable is the table of devices with rows of ID, tenant, claimed and
// blocked; every column is as wide as its widest cell and two spaces.
func deviceTable(rows ...[4]string) string {
	cells := [][]string{{"ID", "TENANT", "REGISTERED", "CLAIMED", "BLOCKED", "ATTESTED",
		"VERDICT", "CERT EXPIRES"}}
	for _, r := range rows {
		cells = append(cells, []string{r[0], r[1], "2026-02-01T08:00:00Z", r[2], r[3], "-",
			"-", "-"})
	}
	widths := make([]int, len(cells[0])-1)
	for _, row := range cells {
		for i := range widths {
			widths[i] = max(widths[i], len(row[i])+2)
		}
	}
	var b strings.Builder
	for _, row := range cells {
		for i, w := range widths {
			fmt.Fprintf(&b, "%-*s", w, row[i])
		}
		b.WriteString(row[len(row)-1] + "\n")
	}
	return b.String()
}

func TestDeviceRegister(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csv := "device_id\n" + devA + "\n" + devB + "\n"
	jsonl := `{"device_id": "` + devA + `"}` + "\n"
	csvFile := write("batch.csv", csv)
	ndjsonFile := write("batch.ndjson", jsonl)
	txtFile := write("batch.txt", csv)
	missing := filepath.Join(dir, "missing.csv")
	const answer = `{"received": 2, "created": 1, "existing": 1}`
	const text = "received 2 device IDs: 1 registered, 1 already known\n"
	ok := []fakeReply{{"POST /api/v1/devices", 200, answer}}

	runCases(t, []cliCase{
		{name: "csv file", args: []string{"device", "register", csvFile}, replies: ok,
			want:     result{0, text, ""},
			requests: []received{call("POST /api/v1/devices", "text/csv", csv)}},
		{name: "ndjson file", args: []string{"device", "register", ndjsonFile}, replies: ok,
			want:     result{0, text, ""},
			requests: []received{call("POST /api/v1/devices", "application/x-ndjson", jsonl)}},
		{name: "format flag wins over extension",
			args: []string{"device", "register", "--format", "csv", txtFile}, replies: ok,
			want:     result{0, text, ""},
			requests: []received{call("POST /api/v1/devices", "text/csv", csv)}},
		{name: "stdin, format after argument",
			args: []string{"device", "register", "-", "--format", "jsonl"}, replies: ok,
			stdin:    jsonl,
			want:     result{0, text, ""},
			requests: []received{call("POST /api/v1/devices", "application/x-ndjson", jsonl)}},
		{name: "json", args: []string{"device", "register", "--output", "json", csvFile},
			replies:  ok,
			want:     result{0, answer + "\n", ""},
			requests: []received{call("POST /api/v1/devices", "text/csv", csv)}},
		{name: "invalid batch", args: []string{"device", "register", csvFile},
			replies: []fakeReply{{"POST /api/v1/devices", 400, `{"error": {` +
				`"code": "invalid_batch", ` +
				`"message": "4 lines are invalid; nothing was registered", ` +
				`"hint": "fix or drop the lines listed and send the whole batch again", ` +
				`"lines": [{"line": 2, "code": "invalid_device_id", ` +
				`"message": "device ID must be 128 characters"}, ` +
				`{"line": 3, "code": "duplicate_device_id", ` +
				`"message": "the ID is also on line 2"}], "more_lines": 2}}`}},
			want: result{1, "", "hallmark: error: invalid_batch: " +
				"4 lines are invalid; nothing was registered\n" +
				"  line 2: invalid_device_id: device ID must be 128 characters\n" +
				"  line 3: duplicate_device_id: the ID is also on line 2\n" +
				"  and 2 more invalid lines\n" +
				"hallmark: hint: fix or drop the lines listed and send the whole batch again\n"},
			requests: []received{call("POST /api/v1/devices", "text/csv", csv)}},
		{name: "batch too large", args: []string{"device", "register", csvFile},
			replies: []fakeReply{{"POST /api/v1/devices", 413, errJSON("body_too_large",
				"a batch may have at most 8388608 bytes",
				"split the batch into several requests")}},
			want: result{1, "", "hallmark: error: body_too_large: " +
				"a batch may have at most 8388608 bytes\n" +
				"hallmark: hint: split the batch into several requests\n"},
			requests: []received{call("POST /api/v1/devices", "text/csv", csv)}},
		{name: "missing file", args: []string{"device", "register", missing},
			want: result{1, "", "hallmark: error: open device batch: open " + missing +
				": no such file or directory\n"}},
	})
}

func TestDeviceList(t *testing.T) {
	page1 := `{"devices": [` + devAJSON + `, ` + devBJSON + `], "next": "` + devB + `"}`
	page2 := `{"devices": [` + devCJSON + `]}`
	rowA := [4]string{devA, "-", "-", "-"}
	rowB := [4]string{devB, tenantID, "2026-02-03T09:00:00Z", "-"}
	rowC := [4]string{devC, "-", "-", "2026-02-04T12:00:00Z"}
	tenantDevices := "GET /api/v1/tenants/" + tenantID + "/devices"

	runCases(t, []cliCase{
		{name: "operator lists every device", args: []string{"device", "list"},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiOperator},
				{"GET /api/v1/devices", 200, `{"devices": [` + devAJSON + `]}`}},
			want: result{0, deviceTable(rowA), ""},
			requests: []received{call("GET /api/v1/whoami"),
				call("GET /api/v1/devices")}},
		{name: "tenant token lists its tenant's", args: []string{"device", "list"},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiTenantAdmin},
				{tenantDevices, 200, `{"devices": []}`}},
			want:     result{0, "no devices\n", ""},
			requests: []received{call("GET /api/v1/whoami"), call(tenantDevices)}},
		{name: "tenant flag", args: []string{"device", "list", "--tenant", tenantID,
			"--limit", "2"},
			replies: []fakeReply{{tenantDevices, 200, page1}},
			want: result{0, deviceTable(rowA, rowB) + "\nmore devices: use --all, or --after " +
				devB + "\n", ""},
			requests: []received{call(tenantDevices + "?limit=2")}},
		{name: "after", args: []string{"device", "list", "--tenant", tenantID,
			"--after", devB},
			replies:  []fakeReply{{tenantDevices, 200, page2}},
			want:     result{0, deviceTable(rowC), ""},
			requests: []received{call(tenantDevices + "?after=" + devB)}},
		{name: "json page as sent", args: []string{"device", "list", "--tenant", tenantID,
			"--output", "json"},
			replies:  []fakeReply{{tenantDevices, 200, page1}},
			want:     result{0, page1 + "\n", ""},
			requests: []received{call(tenantDevices)}},
		{name: "all pages", args: []string{"device", "list", "--all", "--tenant", tenantID,
			"--limit", "2"},
			replies: []fakeReply{{tenantDevices + "?limit=2", 200, page1},
				{tenantDevices + "?after=" + devB + "&limit=2", 200, page2}},
			want: result{0, deviceTable(rowA, rowB, rowC), ""},
			requests: []received{call(tenantDevices + "?limit=2"),
				call(tenantDevices + "?after=" + devB + "&limit=2")}},
		{name: "all pages json", args: []string{"device", "list", "--all", "--tenant",
			tenantID, "--output", "json"},
			replies: []fakeReply{{tenantDevices, 200, page1},
				{tenantDevices + "?after=" + devB, 200, page2}},
			want: result{0, "{\n  \"devices\": [\n" +
				indentDevice(devAJSON) + ",\n" + indentDevice(devBJSON) + ",\n" +
				indentDevice(devCJSON) + "\n  ]\n}\n", ""},
			requests: []received{call(tenantDevices),
				call(tenantDevices + "?after=" + devB)}},
		{name: "all of none json", args: []string{"device", "list", "--all", "--tenant",
			tenantID, "--output", "json"},
			replies:  []fakeReply{{tenantDevices, 200, `{"devices": []}`}},
			want:     result{0, "{\n  \"devices\": []\n}\n", ""},
			requests: []received{call(tenantDevices)}},
		{name: "all pages, cursor repeated", args: []string{"device", "list", "--all",
			"--tenant", tenantID},
			replies: []fakeReply{{tenantDevices, 200, page1},
				{tenantDevices + "?after=" + devB, 200, page1}},
			want: result{1, "", "hallmark: error: the server sent the same page of " +
				"devices twice\n"},
			requests: []received{call(tenantDevices),
				call(tenantDevices + "?after=" + devB)}},
		{name: "bad limit", args: []string{"device", "list", "--tenant", tenantID,
			"--limit", "5000"},
			replies: []fakeReply{{tenantDevices, 400, errJSON("invalid_limit",
				"limit must be a whole number from 1 to 1000", "")}},
			want: result{1, "", "hallmark: error: invalid_limit: " +
				"limit must be a whole number from 1 to 1000\n"},
			requests: []received{call(tenantDevices + "?limit=5000")}},
	})
}

// indentDevice is a device fixture as json.MarshalIndent writes it inside
// a list.
func indentDevice(d string) string {
	d = strings.TrimSuffix(strings.TrimPrefix(d, "{"), "}")
	var b strings.Builder
	b.WriteString("    {\n")
	for i, f := range strings.Split(d, ", ") {
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("      " + f)
	}
	b.WriteString("\n    }")
	return b.String()
}

func TestDeviceCommands(t *testing.T) {
	claimPath := "/api/v1/tenants/" + tenantID + "/devices/" + devA + "/claim"
	claimedA := `{"id": "` + devA + `", "registered_at": "2026-02-01T08:00:00Z", ` +
		`"blocked": false, "tenant_id": "` + tenantID + `", ` +
		`"claimed_at": "2026-02-05T08:00:00Z", "claimed": true}`
	againA := strings.Replace(claimedA, `"claimed": true`, `"claimed": false`, 1)

	runCases(t, []cliCase{
		{name: "show as operator", args: []string{"device", "show", devA},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiOperator},
				{"GET /api/v1/devices/" + devA, 200, devCJSON}},
			want: result{0, "id          " + devC + "\n" +
				"registered  2026-02-01T08:00:00Z\ntenant      -\n" +
				"blocked     2026-02-04T12:00:00Z\n", ""},
			requests: []received{call("GET /api/v1/whoami"),
				call("GET /api/v1/devices/" + devA)}},
		{name: "show in tenant", args: []string{"device", "show", devB, "--tenant", tenantID},
			replies: []fakeReply{{"GET /api/v1/tenants/" + tenantID + "/devices/" + devB,
				200, devBJSON}},
			want: result{0, "id          " + devB + "\n" +
				"registered  2026-02-01T08:00:00Z\ntenant      " + tenantID + "\n" +
				"claimed     2026-02-03T09:00:00Z\nblocked     no\n", ""},
			requests: []received{call("GET /api/v1/tenants/" + tenantID + "/devices/" + devB)}},
		{name: "show json", args: []string{"device", "show", "--output", "json", devB,
			"--tenant", tenantID},
			replies: []fakeReply{{"GET /api/v1/tenants/" + tenantID + "/devices/" + devB,
				200, devBJSON}},
			want:     result{0, devBJSON + "\n", ""},
			requests: []received{call("GET /api/v1/tenants/" + tenantID + "/devices/" + devB)}},
		{name: "show of a bad ID", args: []string{"device", "show", "xyz"},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiOperator},
				{"GET /api/v1/devices/xyz", 400, errJSON("invalid_device_id",
					`invalid device ID \"xyz\": device ID must be 128 characters`, "")}},
			want: result{1, "", "hallmark: error: invalid_device_id: " +
				"invalid device ID \"xyz\": device ID must be 128 characters\n"},
			requests: []received{call("GET /api/v1/whoami"),
				call("GET /api/v1/devices/xyz")}},
		{name: "block", args: []string{"device", "block", devC},
			replies:  []fakeReply{{"POST /api/v1/devices/" + devC + "/block", 200, devCJSON}},
			want:     result{0, "blocked device " + devC + "\n", ""},
			requests: []received{call("POST /api/v1/devices/" + devC + "/block")}},
		{name: "unblock", args: []string{"device", "unblock", devA},
			replies:  []fakeReply{{"POST /api/v1/devices/" + devA + "/unblock", 200, devAJSON}},
			want:     result{0, "unblocked device " + devA + "\n", ""},
			requests: []received{call("POST /api/v1/devices/" + devA + "/unblock")}},
		{name: "unblock json", args: []string{"device", "unblock", devA, "--output=json"},
			replies:  []fakeReply{{"POST /api/v1/devices/" + devA + "/unblock", 200, devAJSON}},
			want:     result{0, devAJSON + "\n", ""},
			requests: []received{call("POST /api/v1/devices/" + devA + "/unblock")}},
		{name: "block unknown", args: []string{"device", "block", devB},
			replies: []fakeReply{{"POST /api/v1/devices/" + devB + "/block", 404,
				errJSON("device_not_found", "no such device", "")}},
			want:     result{1, "", "hallmark: error: device_not_found: no such device\n"},
			requests: []received{call("POST /api/v1/devices/" + devB + "/block")}},
		{name: "claim for own tenant", args: []string{"device", "claim", devA},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiTenantAdmin},
				{"POST " + claimPath, 201, claimedA}},
			want:     result{0, "claimed device " + devA + " for tenant " + tenantID + "\n", ""},
			requests: []received{call("GET /api/v1/whoami"), call("POST " + claimPath)}},
		{name: "claim again, tenant after ID",
			args:    []string{"device", "claim", devA, "--tenant", tenantID},
			replies: []fakeReply{{"POST " + claimPath, 200, againA}},
			want: result{0, "device " + devA + " was already claimed by tenant " + tenantID +
				"; nothing changed\n", ""},
			requests: []received{call("POST " + claimPath)}},
		{name: "claim json", args: []string{"device", "claim", "--output", "json", devA,
			"--tenant", tenantID},
			replies:  []fakeReply{{"POST " + claimPath, 201, claimedA}},
			want:     result{0, claimedA + "\n", ""},
			requests: []received{call("POST " + claimPath)}},
		{name: "claim without tenant", args: []string{"device", "claim", devA},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiOperator}},
			want: result{1, "", "hallmark: error: the operator token belongs to no tenant\n" +
				"hallmark: hint: pass --tenant ID\n"},
			requests: []received{call("GET /api/v1/whoami")}},
		{name: "claim of another tenant's device",
			args: []string{"device", "claim", "--tenant", tenantID, devA},
			replies: []fakeReply{{"POST " + claimPath, 409, errJSON("device_claimed",
				"the device is claimed by another tenant; a claim is permanent", "")}},
			want: result{1, "", "hallmark: error: device_claimed: " +
				"the device is claimed by another tenant; a claim is permanent\n"},
			requests: []received{call("POST " + claimPath)}},
		{name: "claim of an unregistered device",
			args: []string{"device", "claim", "--tenant", tenantID, devA},
			replies: []fakeReply{{"POST " + claimPath, 404, errJSON("device_not_found",
				"no such device",
				"the manufacturer registers devices before a tenant can claim them")}},
			want: result{1, "", "hallmark: error: device_not_found: no such device\n" +
				"hallmark: hint: the manufacturer registers devices before a tenant can " +
				"claim them\n"},
			requests: []received{call("POST " + claimPath)}},
	})
}
