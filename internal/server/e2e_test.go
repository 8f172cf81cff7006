package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hallmark-project/hallmark/deviceid"
)

// newDeviceID returns the ID of a fresh test identity key.
func newDeviceID(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	if err != nil {
		t.Fatal(err)
	}
	id, err := deviceid.FromPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// TestNewcomerFlow walks the README: create a tenant, register and claim a
// device, download the chain and a proof certificate, and check them with
// openssl, on each database.
func TestNewcomerFlow(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			h := start(t, db(t))
			if h.operator == "" {
				t.Fatal("first start printed no operator token")
			}
			tenantID, admin := h.createTenant("acme")
			mfg := h.newToken("manufacturer", "")

			dev1, dev2 := newDeviceID(t), newDeviceID(t)
			csv := "device_id,batch\n" + dev1 + ",b1\n" + dev2 + ",b1\n"
			r := h.callType("POST", "/api/v1/devices", mfg, "text/csv", csv)
			if r.status != 200 || !strings.Contains(string(r.body), `"created": 2`) {
				t.Fatalf("register = %d %s", r.status, r.body)
			}
			// Registering again is idempotent.
			r = h.callType("POST", "/api/v1/devices", mfg, "application/x-ndjson",
				`{"device_id":"`+dev1+`"}`+"\n")
			if r.status != 200 || !strings.Contains(string(r.body), `"existing": 1`) {
				t.Fatalf("re-register = %d %s", r.status, r.body)
			}

			claimPath := "/api/v1/tenants/" + tenantID + "/devices/" + dev1 + "/claim"
			h.must(201, "POST", claimPath, admin, nil)
			h.must(200, "POST", claimPath, admin, nil) // the same tenant: no-op
			otherID, otherAdmin := h.createTenant("globex")
			r = h.call("POST", "/api/v1/tenants/"+otherID+"/devices/"+dev1+"/claim",
				otherAdmin, nil)
			if r.status != 409 || r.code() != "device_claimed" {
				t.Fatalf("second tenant's claim = %d %s, want 409 device_claimed", r.status,
					r.body)
			}

			var list struct{ Devices []struct{ ID string } }
			h.must(200, "GET", "/api/v1/tenants/"+tenantID+"/devices", admin, nil).json(t, &list)
			if len(list.Devices) != 1 || list.Devices[0].ID != dev1 {
				t.Fatalf("tenant devices = %+v, want only %s", list.Devices, dev1)
			}

			base := "/api/v1/tenants/" + tenantID + "/certificates"
			var cas struct {
				Certificates []struct{ Thumbprint, State, Certificate string }
			}
			h.must(200, "GET", base, admin, nil).json(t, &cas)
			if len(cas.Certificates) != 1 || cas.Certificates[0].State != "active" {
				t.Fatalf("tenant CAs = %+v, want one active", cas.Certificates)
			}
			caPEM := h.must(200, "GET", base+"/active", admin, nil).body
			chainPEM := h.must(200, "GET", base+"/active/chain", admin, nil).body
			p7 := h.must(200, "GET", base+"/"+cas.Certificates[0].Thumbprint+
				"/chain?format=pkcs7", admin, nil).body
			code := "A901A843EFF75419AC1F0EB460E85DF153092A0547AA30F5"
			proofPEM := h.must(200, "POST", base+"/active/proof", admin,
				map[string]string{"verification_code": code}).body

			checkWithOpenSSL(t, caPEM, chainPEM, p7, proofPEM, code)
			checkCRL(t, h, chainPEM)
		})
	}
}

func checkWithOpenSSL(t *testing.T, caPEM, chainPEM, p7, proofPEM []byte, code string) {
	t.Helper()
	certs := splitPEM(t, chainPEM)
	if len(certs) != 3 {
		t.Fatalf("chain has %d certificates, want 3", len(certs))
	}
	root := writeTemp(t, "root.pem", certs[2])
	inter := writeTemp(t, "inter.pem", certs[1])
	ca := writeTemp(t, "ca.pem", caPEM)
	chain := writeTemp(t, "chain.pem", append(append([]byte{}, certs[1]...), caPEM...))
	proof := writeTemp(t, "proof.pem", proofPEM)

	if out, err := openssl(t, "verify", "-x509_strict", "-CAfile", root, "-untrusted", inter,
		ca); err != nil {
		t.Fatalf("openssl verify tenant CA: %v\n%s", err, out)
	}
	if out, err := openssl(t, "verify", "-x509_strict", "-CAfile", root, "-untrusted", chain,
		proof); err != nil {
		t.Fatalf("openssl verify proof: %v\n%s", err, out)
	}

	text, err := openssl(t, "x509", "-in", ca, "-noout", "-text")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CA:TRUE, pathlen:0", "Certificate Sign, CRL Sign",
		"Public-Key: (256 bit)", "X509v3 CRL Distribution Points", "http://pki.test/pki/crl/"} {
		if !strings.Contains(text, want) {
			t.Errorf("tenant CA text lacks %q:\n%s", want, text)
		}
	}
	text, err = openssl(t, "x509", "-in", proof, "-noout", "-text")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "Subject: CN = "+code) || strings.Contains(text,
		"Extended Key Usage") || !strings.Contains(text, "CA:FALSE") {
		t.Errorf("proof certificate profile:\n%s", text)
	}

	p7file := writeTemp(t, "chain.p7b", p7)
	out, err := openssl(t, "pkcs7", "-inform", "DER", "-in", p7file, "-print_certs", "-noout")
	if err != nil || strings.Count(out, "subject=") != 3 {
		t.Fatalf("openssl pkcs7: %v\n%s", err, out)
	}
}

// checkCRL fetches the tenant CA's CRL from the PKI listener, at the path
// the tenant CA's certificates name, and checks it with openssl.
func checkCRL(t *testing.T, h *harness, chainPEM []byte) {
	t.Helper()
	certs := splitPEM(t, chainPEM)
	block, _ := pem.Decode(certs[1])
	inter, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	url := inter.CRLDistributionPoints[0]
	path := strings.TrimPrefix(url, "http://pki.test")
	resp, err := http.Get(h.pki + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	der, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s", path, resp.StatusCode, der)
	}
	crl := writeTemp(t, "root.crl", der)
	root := writeTemp(t, "root.pem", certs[2])
	out, err := openssl(t, "crl", "-inform", "DER", "-in", crl, "-CAfile", root, "-noout")
	if err != nil || !strings.Contains(out, "verify OK") {
		t.Fatalf("openssl crl: %v\n%s", err, out)
	}
	// The PKI listener serves nothing else.
	resp2, err := http.Get(h.pki + "/api/v1/whoami")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 404 {
		t.Errorf("PKI listener served the API: %d", resp2.StatusCode)
	}
}

func splitPEM(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		out = append(out, pem.EncodeToMemory(b))
	}
	if len(out) == 0 {
		t.Fatal("no PEM blocks")
	}
	return out
}

func TestHealthAndMetrics(t *testing.T) {
	h := start(t, "sqlite")
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(h.metrics + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s = %d %s", path, resp.StatusCode, body)
		}
	}
	h.must(200, "GET", "/readyz", "", nil)
	h.must(200, "GET", "/api/v1/whoami", h.operator, nil)
	resp, err := http.Get(h.metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `hallmark_admin_requests_total{code="200",route="GET /api/v1/whoami"} 1`
	if !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %s", want)
	}
}

func TestAuditLog(t *testing.T) {
	h := start(t, "sqlite")
	tenantID, admin := h.createTenant("acme")
	dev := newDeviceID(t)
	h.must(404, "POST", "/api/v1/tenants/"+tenantID+"/devices/"+dev+"/claim", admin, nil)
	h.callType("POST", "/api/v1/devices", h.operator, "text/csv", "device_id\n"+dev+"\n")
	h.must(200, "POST", "/api/v1/devices/"+dev+"/block", h.operator, nil)

	var log struct {
		Entries []struct {
			Action, Result, Target string
			TokenID                string `json:"token_id"`
		}
	}
	h.must(200, "GET", "/api/v1/audit", h.operator, nil).json(t, &log)
	var got []string
	for _, e := range log.Entries {
		got = append(got, e.Action+" "+e.Result)
	}
	want := []string{"device.block ok", "device.register ok", "device.claim device_not_found",
		"token.create ok", "tenant.create ok", "token.create ok"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit log = %v, want %v", got, want)
	}
	for _, e := range log.Entries {
		if e.TokenID == "" {
			t.Errorf("entry %s has no actor", e.Action)
		}
	}
	// Only the operator reads the audit log.
	if r := h.call("GET", "/api/v1/audit", admin, nil); r.status != 403 {
		t.Errorf("tenant admin reading the audit log = %d, want 403", r.status)
	}
}
