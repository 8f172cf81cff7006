package loadgen

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/catalogue"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// TestDeviceRequests checks the pre-encoded request bodies against the wire
// formats, as the DAA decodes them.
func TestDeviceRequests(t *testing.T) {
	d, err := newDevice()
	if err != nil {
		t.Fatal(err)
	}
	var ch wire.ChallengeRequest
	if err := json.Unmarshal(d.challengeBody, &ch); err != nil || ch.DeviceID != d.id {
		t.Fatalf("challenge body %s: %v", d.challengeBody, err)
	}
	if _, err := deviceid.Parse(d.id); err != nil {
		t.Fatal(err)
	}

	nonce := []byte("0123456789abcdef0123456789abcdef")
	ev, err := d.sign(nonce, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body := d.attestationBody([]byte("left over from the last attestation"), ev)[35:]
	var req wire.AttestationRequest
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("attestation body: %v\n%s", err, body)
	}
	parsed, err := evidence.Parse(req.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.Verify(); err != nil {
		t.Fatal(err)
	}
	claims := parsed.Claims()
	if parsed.DeviceID().String() != d.id || string(claims.Nonce) != string(nonce) {
		t.Errorf("evidence names device %s, nonce %q", parsed.DeviceID(), claims.Nonce)
	}

	csr, err := x509.ParseCertificateRequest(req.CSR)
	if err != nil {
		t.Fatal(err)
	}
	if err := csr.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	binding, err := evidence.KeyBindingOf(csr.PublicKey)
	if err != nil || binding != claims.KeyBinding {
		t.Errorf("the CSR's key is not the one the evidence binds (%v)", err)
	}
}

func TestCatalogueTrustsTheBoot(t *testing.T) {
	doc, err := catalogue.Parse(catalogueJSON())
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalogue.New(1, doc)
	if err != nil {
		t.Fatal(err)
	}
	var boot []catalogue.Measurement
	for _, c := range bootComponents {
		boot = append(boot, catalogue.Measurement{Name: c.Name, Version: c.Version,
			Digest: c.Digest, SVN: c.SVN})
	}
	if v := cat.Appraise(boot).Verdict; v != attestation.Affirming {
		t.Errorf("the simulated boot is %v, want affirming", v)
	}
}

func TestNewDevices(t *testing.T) {
	devs, err := newDevices(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, d := range devs {
		if d == nil || seen[d.id] {
			t.Fatalf("device %d is missing or repeated", i)
		}
		seen[d.id] = true
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newDevices(ctx, 1000); err == nil {
		t.Error("newDevices with a cancelled context succeeded")
	}
}
