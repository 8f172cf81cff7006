package cli

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantFile checks that path holds data with mode 0644, and that its
// directory holds nothing else.
func wantFile(path string, data []byte) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(got, data) {
			t.Errorf("%s holds %d bytes %q, want %q", path, len(got), got, data)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o644 {
			t.Errorf("%s has mode %v, want 0644", path, fi.Mode())
		}
		wantDir(filepath.Dir(path), filepath.Base(path))(t)
	}
}

// wantDir checks that dir holds exactly the names given.
func wantDir(dir string, names ...string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if diff := cmp.Diff(names, got); diff != "" {
			t.Errorf("%s holds (-want +got):\n%s", dir, diff)
		}
	}
}

func TestCAList(t *testing.T) {
	certs := `{"certificates": [{"thumbprint": "9f86d081884c7d65", "generation": 2, ` +
		`"state": "active", "not_before": "2026-01-01T00:00:00Z", ` +
		`"not_after": "2027-01-01T00:00:00Z", "active_from": "2026-01-02T00:00:00Z", ` +
		`"certificate": "-----BEGIN CERTIFICATE-----\n..."}, ` +
		`{"thumbprint": "60303ae22b998861", "generation": 1, "state": "retired", ` +
		`"not_before": "2025-01-01T00:00:00Z", "not_after": "2026-01-01T00:00:00Z", ` +
		`"active_from": "2025-01-01T00:00:00Z", "certificate": "..."}]}`
	list := "GET /api/v1/tenants/" + tenantID + "/certificates"
	runCases(t, []cliCase{
		{name: "own tenant", args: []string{"ca", "list"},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiTenantAdmin},
				{list, 200, certs}},
			want: result{0, "THUMBPRINT        GENERATION  STATE    NOT BEFORE            " +
				"NOT AFTER             ACTIVE FROM\n" +
				"9f86d081884c7d65  2           active   2026-01-01T00:00:00Z  " +
				"2027-01-01T00:00:00Z  2026-01-02T00:00:00Z\n" +
				"60303ae22b998861  1           retired  2025-01-01T00:00:00Z  " +
				"2026-01-01T00:00:00Z  2025-01-01T00:00:00Z\n", ""},
			requests: []received{call("GET /api/v1/whoami"), call(list)}},
		{name: "json", args: []string{"ca", "list", "--tenant", tenantID, "--output", "json"},
			replies:  []fakeReply{{list, 200, certs}},
			want:     result{0, certs + "\n", ""},
			requests: []received{call(list)}},
		{name: "none", args: []string{"ca", "list", "--tenant", tenantID},
			replies:  []fakeReply{{list, 200, `{"certificates": []}`}},
			want:     result{0, "no CA certificates\n", ""},
			requests: []received{call(list)}},
		{name: "operator without tenant", args: []string{"ca", "list"},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiOperator}},
			want: result{1, "", "hallmark: error: the operator token belongs to no tenant\n" +
				"hallmark: hint: pass --tenant ID\n"},
			requests: []received{call("GET /api/v1/whoami")}},
		{name: "other tenant", args: []string{"ca", "list", "--tenant", otherTenantID},
			replies: []fakeReply{{"GET /api/v1/tenants/" + otherTenantID + "/certificates",
				404, errJSON("tenant_not_found", "no such tenant", "")}},
			want: result{1, "", "hallmark: error: tenant_not_found: no such tenant\n"},
			requests: []received{
				call("GET /api/v1/tenants/" + otherTenantID + "/certificates")}},
	})
}

func TestCADownloads(t *testing.T) {
	pemCert := newTestPKI(t).caPEM
	block, _ := pem.Decode(pemCert)
	der := block.Bytes
	// The bytes of a PKCS #7 file stand in for one; the CLI does not read it.
	p7 := append([]byte{0x30, 0x82, 0x00, 0x00}, der...)
	certs := "/api/v1/tenants/" + tenantID + "/certificates/"
	dir := t.TempDir()
	out := func(name string) string { return filepath.Join(dir, name) }
	// Each case that writes files has a directory of its own.
	for _, d := range []string{"der", "chain", "proof", "json", "fail", "isdir/ca.pem"} {
		if err := os.MkdirAll(out(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	proofBody := `{"verification_code":"3F2A77B190CC","lifetime":"30m"}`
	notFound := errJSON("ca_not_found", "no CA certificate of this tenant has that thumbprint",
		`list the tenant's certificates for their thumbprints, or use \"active\"`)

	runCases(t, []cliCase{
		{name: "pem to stdout", args: []string{"ca", "download", "--tenant", tenantID},
			replies:  []fakeReply{{"GET " + certs + "active", 200, string(pemCert)}},
			want:     result{0, string(pemCert), ""},
			requests: []received{call("GET " + certs + "active?format=pem")}},
		{name: "der to file", args: []string{"ca", "download", "--thumbprint", "9f86d081",
			"--format", "der", "--out", out("der/ca.cer")},
			replies: []fakeReply{{"GET /api/v1/whoami", 200, whoamiTenantAdmin},
				{"GET " + certs + "9f86d081", 200, string(der)}},
			want: result{0, "wrote " + out("der/ca.cer") + "\n", ""},
			requests: []received{call("GET /api/v1/whoami"),
				call("GET " + certs + "9f86d081?format=der")},
			check: wantFile(out("der/ca.cer"), der)},
		{name: "der to stdout on request", args: []string{"ca", "download", "--tenant",
			tenantID, "--format", "der", "--out", "-"},
			replies:  []fakeReply{{"GET " + certs + "active", 200, string(der)}},
			want:     result{0, string(der), ""},
			requests: []received{call("GET " + certs + "active?format=der")}},
		{name: "file in json mode", args: []string{"ca", "download", "--tenant", tenantID,
			"--out", out("json/ca.pem"), "--output", "json"},
			replies:  []fakeReply{{"GET " + certs + "active", 200, string(pemCert)}},
			want:     result{0, "", ""},
			requests: []received{call("GET " + certs + "active?format=pem")},
			check:    wantFile(out("json/ca.pem"), pemCert)},
		{name: "failed download writes nothing", args: []string{"ca", "download",
			"--tenant", tenantID, "--thumbprint", "00ff", "--out", out("fail/ca.pem")},
			replies: []fakeReply{{"GET " + certs + "00ff", 404, notFound}},
			want: result{1, "", "hallmark: error: ca_not_found: " +
				"no CA certificate of this tenant has that thumbprint\n" +
				"hallmark: hint: list the tenant's certificates for their thumbprints, " +
				"or use \"active\"\n"},
			requests: []received{call("GET " + certs + "00ff?format=pem")},
			check:    wantDir(out("fail"))},
		{name: "chain pem", args: []string{"ca", "download-chain", "--tenant", tenantID},
			replies:  []fakeReply{{"GET " + certs + "active/chain", 200, string(pemCert)}},
			want:     result{0, string(pemCert), ""},
			requests: []received{call("GET " + certs + "active/chain?format=pem")}},
		{name: "chain pkcs7", args: []string{"ca", "download-chain", "--tenant", tenantID,
			"--format", "pkcs7", "--out", out("chain/chain.p7b")},
			replies:  []fakeReply{{"GET " + certs + "active/chain", 200, string(p7)}},
			want:     result{0, "wrote " + out("chain/chain.p7b") + "\n", ""},
			requests: []received{call("GET " + certs + "active/chain?format=pkcs7")},
			check:    wantFile(out("chain/chain.p7b"), p7)},
		{name: "proof pem", args: []string{"ca", "download-proof", "--verification-code",
			"3F2A77B190CC", "--lifetime", "30m", "--tenant", tenantID},
			replies: []fakeReply{{"POST " + certs + "active/proof", 200, string(pemCert)}},
			want:    result{0, string(pemCert), ""},
			requests: []received{call("POST "+certs+"active/proof?format=pem",
				"application/json", proofBody)}},
		{name: "proof der", args: []string{"ca", "download-proof", "--tenant", tenantID,
			"--verification-code", "ABCD1234", "--format", "der", "--out",
			out("proof/proof.cer"), "--thumbprint", "9f86d081"},
			replies: []fakeReply{{"POST " + certs + "9f86d081/proof", 200, string(der)}},
			want:    result{0, "wrote " + out("proof/proof.cer") + "\n", ""},
			requests: []received{call("POST "+certs+"9f86d081/proof?format=der",
				"application/json", `{"verification_code":"ABCD1234"}`)},
			check: wantFile(out("proof/proof.cer"), der)},
		{name: "proof refused", args: []string{"ca", "download-proof", "--tenant", tenantID,
			"--verification-code", "abc"},
			replies: []fakeReply{{"POST " + certs + "active/proof", 400, errJSON(
				"invalid_verification_code", "verification code has 3 characters", "")}},
			want: result{1, "", "hallmark: error: invalid_verification_code: " +
				"verification code has 3 characters\n"},
			requests: []received{call("POST "+certs+"active/proof?format=pem",
				"application/json", `{"verification_code":"abc"}`)}},
		{name: "out is a directory", args: []string{"ca", "download", "--tenant", tenantID,
			"--out", out("isdir/ca.pem")},
			replies: []fakeReply{{"GET " + certs + "active", 200, string(pemCert)}},
			want: result{1, "", "hallmark: error: write " + out("isdir/ca.pem") +
				": is a directory\n"},
			requests: []received{call("GET " + certs + "active?format=pem")},
			check:    wantDir(out("isdir"), "ca.pem")},
		{name: "out in a missing directory", args: []string{"ca", "download", "--tenant",
			tenantID, "--out", out("none/ca.pem")},
			replies: []fakeReply{{"GET " + certs + "active", 200, string(pemCert)}},
			want: result{1, "", "hallmark: error: write " + out("none/ca.pem") +
				": no such file or directory\n"},
			requests: []received{call("GET " + certs + "active?format=pem")}},
	})
}
