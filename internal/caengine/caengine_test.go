package caengine_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/authority"
	"github.com/hallmark-project/hallmark/internal/caengine"
	"github.com/hallmark-project/hallmark/internal/catalogue"
	"github.com/hallmark-project/hallmark/internal/keys/sealed"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/sqlite"
)

// setup returns an engine with a tenant that has claimed a device.
func setup(t *testing.T, lifetime time.Duration) (*caengine.Engine, store.Store,
	caengine.Request) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	kek := make([]byte, 32) // test KEK
	rand.Read(kek)
	kb, err := sealed.New(kek)
	if err != nil {
		t.Fatal(err)
	}
	ca := authority.New(authority.Config{Store: st, Keys: kb})
	if _, err := ca.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	tn := store.Tenant{ID: "tenant-1", Name: "acme", CreatedAt: time.Now()}
	err = st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateTenant(ctx, tn); err != nil {
			return err
		}
		_, err := ca.CreateTenantCA(ctx, q, tn)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	idKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	id, _ := deviceid.FromPublicKey(&idKey.PublicKey)
	if _, err := st.RegisterDevices(ctx, []string{id.String()}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimDevice(ctx, id.String(), tn.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	e, err := caengine.New(caengine.Config{Store: st, Authority: ca, Lifetime: lifetime})
	if err != nil {
		t.Fatal(err)
	}
	certKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // test key
	req := caengine.Request{TenantID: tn.ID, DeviceID: id, PublicKey: &certKey.PublicKey,
		EvidenceDigest: sha256.Sum256([]byte("evidence")),
		Appraisal: catalogue.Appraisal{CatalogueVersion: 3, Verdict: attestation.Affirming,
			Outcomes: []catalogue.Outcome{{Measurement: catalogue.Measurement{Name: "fw",
				Version: "1", Digest: sha256.Sum256([]byte("fw"))},
				Verdict: attestation.Affirming, Reason: catalogue.ReasonTrusted}}}}
	return e, st, req
}

func TestSignAndRecord(t *testing.T) {
	e, st, req := setup(t, 0)
	ctx := context.Background()
	is, err := e.Sign(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(is.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != req.DeviceID.String() ||
		cert.NotAfter.Sub(cert.NotBefore) != 24*time.Hour+5*time.Minute ||
		len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("certificate profile: CN %q, validity %v, EKU %v", cert.Subject.CommonName,
			cert.NotAfter.Sub(cert.NotBefore), cert.ExtKeyUsage)
	}
	if !is.NotBefore.Equal(cert.NotBefore) || !is.NotAfter.Equal(cert.NotAfter) {
		t.Errorf("Issued says %v to %v, the certificate %v to %v", is.NotBefore, is.NotAfter,
			cert.NotBefore, cert.NotAfter)
	}
	life := is.NotAfter.Sub(is.NotBefore)
	from := is.NotBefore.Add(time.Duration(float64(life) * 0.6)).Add(-time.Second)
	to := is.NotBefore.Add(time.Duration(float64(life) * 0.8))
	if is.RenewAt.Before(from) || is.RenewAt.After(to) {
		t.Errorf("renew at %v, want between %v and %v", is.RenewAt, from, to)
	}
	if len(is.Chain) != 2 {
		t.Fatalf("chain has %d certificates, want the tenant CA and the intermediate",
			len(is.Chain))
	}
	if err := cert.CheckSignatureFrom(mustParse(t, is.Chain[0])); err != nil {
		t.Errorf("not signed by the first certificate of the chain: %v", err)
	}

	// Nothing is recorded until the records are.
	list, _ := st.ListIssuances(ctx, store.IssuanceFilter{DeviceID: req.DeviceID.String()})
	if len(list) != 0 {
		t.Fatal("Sign recorded an issuance")
	}
	rec, issuance := is.Records()
	err = st.Tx(ctx, func(q store.Queries) error {
		if err := q.PutCert(ctx, *rec); err != nil {
			return err
		}
		return q.PutIssuance(ctx, *issuance)
	})
	if err != nil {
		t.Fatal(err)
	}
	list, _ = st.ListIssuances(ctx, store.IssuanceFilter{DeviceID: req.DeviceID.String()})
	if len(list) != 1 || list[0].Verdict != "affirming" || list[0].CatalogueVersion != 3 {
		t.Fatalf("issuance log = %+v", list)
	}
	d, _ := st.GetDevice(ctx, req.DeviceID.String())
	if !d.CertNotAfter.Equal(is.NotAfter) {
		t.Errorf("device's certificate expiry %v, want %v", d.CertNotAfter, is.NotAfter)
	}
}

// TestSignValidity: the validity Sign reports, and records, is the one in
// the certificate, for a lifetime that is not whole seconds too.
func TestSignValidity(t *testing.T) {
	for _, lifetime := range []time.Duration{time.Hour, 36*time.Hour + 1500*time.Millisecond} {
		e, _, req := setup(t, lifetime)
		is, err := e.Sign(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		cert := mustParse(t, is.Certificate)
		rec, issuance := is.Records()
		for _, got := range [][2]time.Time{{is.NotBefore, is.NotAfter},
			{rec.NotBefore, rec.NotAfter}, {issuance.NotBefore, issuance.NotAfter}} {
			if !got[0].Equal(cert.NotBefore) || !got[1].Equal(cert.NotAfter) {
				t.Errorf("lifetime %v: %v to %v, the certificate says %v to %v", lifetime,
					got[0], got[1], cert.NotBefore, cert.NotAfter)
			}
		}
	}
}

func TestSignRefuses(t *testing.T) {
	e, _, req := setup(t, time.Hour)
	ctx := context.Background()

	bad := req
	bad.Appraisal.Verdict = attestation.Contraindicated
	if _, err := e.Sign(ctx, bad); err == nil {
		t.Error("Sign issued a certificate for a contraindicated attestation")
	}
	bad = req
	bad.TenantID = "no-such-tenant"
	if _, err := e.Sign(ctx, bad); err == nil {
		t.Error("Sign issued a certificate for a tenant without a CA")
	}
	is, err := e.Sign(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := is.NotAfter.Sub(is.NotBefore); got != time.Hour+5*time.Minute {
		t.Errorf("a one-hour lifetime gave %v", got)
	}
}

func TestNewRefusesLifetime(t *testing.T) {
	for _, d := range []time.Duration{time.Minute, 8 * 24 * time.Hour} {
		if _, err := caengine.New(caengine.Config{Lifetime: d}); err == nil {
			t.Errorf("New accepted a lifetime of %v", d)
		}
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
