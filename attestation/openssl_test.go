package attestation_test

import (
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/attestation"
)

// openssl runs the openssl command line tool and returns its standard output.
// The tests need the real tool; its absence is a failure, not a skip.
func openssl(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required for this test: %v", err)
	}
	cmd := exec.Command(path, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

func TestOpenSSLShowsExtension(t *testing.T) {
	cert := newTestCertificate(t, fixtureExtension(t))
	path := filepath.Join(t.TempDir(), "device.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	text := openssl(t, "x509", "-in", path, "-noout", "-text")
	var line string
	for l := range strings.Lines(text) {
		if strings.Contains(l, "1.3.6.1.4.1.311.98.1") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		t.Fatalf("openssl x509 -text does not show 1.3.6.1.4.1.311.98.1:\n%s", text)
	}
	if line != "1.3.6.1.4.1.311.98.1:" {
		t.Errorf("openssl shows the extension as %q, want it non-critical", line)
	}
}

// asn1parseLine matches one line of openssl asn1parse output, such as
// "    3:d=1  hl=2 l=   1 prim: INTEGER           :01".
var asn1parseLine = regexp.MustCompile(
	`^\s*\d+:d=(\d+)\s+hl=\s*\d+\s+l=\s*\d+\s+(?:cons|prim):\s*(.*)$`)

func TestOpenSSLParsesStructure(t *testing.T) {
	cert := newTestCertificate(t, fixtureExtension(t))
	var value []byte
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(attestation.OID) {
			value = ext.Value
		}
	}
	path := filepath.Join(t.TempDir(), "result.der")
	if err := os.WriteFile(path, value, 0o600); err != nil {
		t.Fatal(err)
	}

	var got []string
	for l := range strings.Lines(openssl(t, "asn1parse", "-inform", "DER", "-in", path)) {
		m := asn1parseLine.FindStringSubmatch(strings.TrimRight(l, "\n"))
		if m == nil {
			t.Fatalf("unexpected openssl asn1parse line %q", l)
		}
		typ, val, _ := strings.Cut(m[2], ":")
		got = append(got, strings.TrimSpace(m[1]+" "+strings.Join(strings.Fields(typ), " ")+
			" "+val))
	}

	// The structure in the package doc, filled with fixtureResult.
	r := fixtureResult()
	want := []string{
		"0 SEQUENCE",
		"1 INTEGER 01",
		fmt.Sprintf("1 ENUMERATED %02X", int(r.Verdict)),
		"1 GENERALIZEDTIME 20250314093000Z",
		fmt.Sprintf("1 OCTET STRING [HEX DUMP] %X", r.EvidenceDigest),
		fmt.Sprintf("1 INTEGER %02X", r.CatalogueVersion),
		"1 SEQUENCE",
	}
	for _, c := range r.Components {
		want = append(want,
			"2 SEQUENCE",
			"3 UTF8STRING "+c.Name,
			"3 UTF8STRING "+c.Version,
			fmt.Sprintf("3 OCTET STRING [HEX DUMP] %X", c.Digest),
			fmt.Sprintf("3 ENUMERATED %02X", int(c.Verdict)))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("openssl asn1parse structure mismatch (-want +got):\n%s", diff)
	}
}
