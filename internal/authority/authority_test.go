package authority_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hallmark-project/hallmark/internal/authority"
	"github.com/hallmark-project/hallmark/internal/keys/sealed"
	"github.com/hallmark-project/hallmark/internal/pki"
	"github.com/hallmark-project/hallmark/internal/store"
	"github.com/hallmark-project/hallmark/internal/store/sqlite"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time // guarded by mu
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var start = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

func newAuthority(t *testing.T) (*authority.Authority, store.Store, *clock) {
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
	clk := &clock{t: start}
	a := authority.New(authority.Config{Store: st, Keys: kb, Now: clk.Now,
		PublicURL: "http://pki.test"})
	created, err := a.Bootstrap(ctx)
	if err != nil || !created {
		t.Fatalf("Bootstrap() = %v, %v; want true, nil", created, err)
	}
	return a, st, clk
}

func newTenant(t *testing.T, a *authority.Authority, st store.Store, name string) store.Tenant {
	t.Helper()
	ctx := context.Background()
	tn := store.Tenant{ID: name + "-id", Name: name, CreatedAt: start}
	err := st.Tx(ctx, func(q store.Queries) error {
		if err := q.CreateTenant(ctx, tn); err != nil {
			return err
		}
		_, err := a.CreateTenantCA(ctx, q, tn)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func TestBootstrapIsIdempotent(t *testing.T) {
	a, _, _ := newAuthority(t)
	created, err := a.Bootstrap(context.Background())
	if err != nil || created {
		t.Fatalf("second Bootstrap() = %v, %v; want false, nil", created, err)
	}
	if err := a.Check(context.Background()); err != nil {
		t.Fatalf("Check() = %v", err)
	}
}

func TestTenantCAChainsToRoot(t *testing.T) {
	a, st, _ := newAuthority(t)
	ctx := context.Background()
	tn := newTenant(t, a, st, "acme")
	ca, err := a.ActiveTenantCA(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	chain, err := a.Chain(ctx, ca.CA)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 3 {
		t.Fatalf("chain has %d certificates, want 3", len(chain))
	}
	certs := parseAll(t, chain...)
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(certs[2])
	inters.AddCert(certs[1])
	_, err = certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters,
		CurrentTime: start.Add(time.Hour), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		t.Fatalf("tenant CA does not verify: %v", err)
	}
	if got, want := certs[0].CRLDistributionPoints, []string{"http://pki.test" +
		authority.CRLPath(mustIntermediate(t, a, st).ID)}; !cmp.Equal(got, want) {
		t.Errorf("CRL distribution points = %v, want %v", got, want)
	}
}

func mustIntermediate(t *testing.T, a *authority.Authority, st store.Store) store.CA {
	t.Helper()
	inter, err := a.Intermediate(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return inter
}

func parseAll(t *testing.T, ders ...[]byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func stateList(t *testing.T, a *authority.Authority, tenantID string) []authority.State {
	t.Helper()
	cas, err := a.TenantCAs(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	var out []authority.State
	for _, ca := range cas {
		out = append(out, ca.State)
	}
	return out
}

func TestRollover(t *testing.T) {
	a, st, clk := newAuthority(t)
	ctx := context.Background()
	tn := newTenant(t, a, st, "acme")
	first, err := a.ActiveTenantCA(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}

	// A day before the lead time nothing happens.
	clk.t = first.NotAfter.Add(-pki.RolloverLead - 24*time.Hour)
	if n, err := a.Rollover(ctx); err != nil || n != 0 {
		t.Fatalf("early Rollover() = %d, %v; want 0, nil", n, err)
	}

	// Within the lead time the next CA appears, not yet active.
	clk.t = first.NotAfter.Add(-pki.RolloverLead + time.Hour)
	if n, err := a.Rollover(ctx); err != nil || n != 1 {
		t.Fatalf("Rollover() = %d, %v; want 1, nil", n, err)
	}
	if n, err := a.Rollover(ctx); err != nil || n != 0 {
		t.Fatalf("repeated Rollover() = %d, %v; want 0, nil", n, err)
	}
	want := []authority.State{authority.StateActive, authority.StateNext}
	if got := stateList(t, a, tn.ID); !cmp.Equal(got, want) {
		t.Fatalf("states after rollover = %v, want %v", got, want)
	}

	// 45 days later the new CA is active and the old one retiring: both listed.
	clk.Advance(pki.RolloverActivation)
	want = []authority.State{authority.StateRetiring, authority.StateActive}
	if got := stateList(t, a, tn.ID); !cmp.Equal(got, want) {
		t.Fatalf("states after activation = %v, want %v", got, want)
	}
	active, err := a.ActiveTenantCA(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if active.Generation != 2 || active.Thumbprint == first.Thumbprint {
		t.Fatalf("active CA is generation %d, want 2", active.Generation)
	}
	if _, err := a.FindTenantCA(ctx, tn.ID, first.Thumbprint); err != nil {
		t.Fatalf("old CA not found during overlap: %v", err)
	}

	// After the old CA expires it is listed as expired.
	clk.t = first.NotAfter.Add(time.Minute)
	want = []authority.State{authority.StateExpired, authority.StateActive}
	if got := stateList(t, a, tn.ID); !cmp.Equal(got, want) {
		t.Fatalf("states after expiry = %v, want %v", got, want)
	}
}

func TestRolloverConcurrentReplicas(t *testing.T) {
	a, st, clk := newAuthority(t)
	ctx := context.Background()
	tn := newTenant(t, a, st, "acme")
	first, _ := a.ActiveTenantCA(ctx, tn.ID)
	clk.t = first.NotAfter.Add(-pki.RolloverLead + time.Hour)

	var wg sync.WaitGroup
	counts := make([]int, 4)
	for i := range counts {
		wg.Go(func() {
			n, err := a.Rollover(ctx)
			if err != nil {
				t.Errorf("Rollover() error: %v", err)
			}
			counts[i] = n
		})
	}
	wg.Wait()
	if got := stateList(t, a, tn.ID); len(got) != 2 {
		t.Fatalf("after concurrent rollovers the tenant has %d CAs, want 2", len(got))
	}
}

func TestIssueProof(t *testing.T) {
	a, st, _ := newAuthority(t)
	ctx := context.Background()
	tn := newTenant(t, a, st, "acme")
	ca, err := a.ActiveTenantCA(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	const code = "A901A843EFF75419AC1F0EB460E85DF153092A0547AA30F5"
	var der []byte
	err = st.Tx(ctx, func(q store.Queries) error {
		der, err = a.IssueProof(ctx, q, ca, code, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cert := parseAll(t, der)[0]
	if cert.Subject.CommonName != code {
		t.Errorf("proof CN = %q, want %q", cert.Subject.CommonName, code)
	}
	if err := cert.CheckSignatureFrom(parseAll(t, ca.CertDER)[0]); err != nil {
		t.Errorf("proof not signed by the tenant CA: %v", err)
	}
	rec, err := st.GetCert(ctx, ca.ID, cert.SerialNumber.Bytes())
	if err != nil {
		t.Fatalf("proof not recorded: %v", err)
	}
	if rec.Kind != store.CertProof || !bytes.Equal(rec.CertDER, der) {
		t.Errorf("recorded %s certificate, want the proof", rec.Kind)
	}
}

func TestFindTenantCAErrors(t *testing.T) {
	a, st, _ := newAuthority(t)
	ctx := context.Background()
	acme := newTenant(t, a, st, "acme")
	other := newTenant(t, a, st, "other")
	otherCA, _ := a.ActiveTenantCA(ctx, other.ID)

	tests := []struct {
		name, tenant, thumbprint string
		want                     error
	}{
		{"unknown thumbprint", acme.ID, "00", authority.ErrCANotFound},
		{"another tenant's CA", acme.ID, otherCA.Thumbprint, authority.ErrCANotFound},
		{"tenant without CAs", "nobody", "active", authority.ErrNoActiveCA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.FindTenantCA(ctx, tt.tenant, tt.thumbprint)
			if !errors.Is(err, tt.want) {
				t.Fatalf("FindTenantCA() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCRL(t *testing.T) {
	a, st, clk := newAuthority(t)
	ctx := context.Background()
	tn := newTenant(t, a, st, "acme")
	ca, _ := a.ActiveTenantCA(ctx, tn.ID)
	caCert := parseAll(t, ca.CertDER)[0]

	der1, err := a.CRL(ctx, ca.ID)
	if err != nil {
		t.Fatal(err)
	}
	crl1 := parseCRL(t, der1, caCert)
	if len(crl1.RevokedCertificateEntries) != 0 || crl1.Number.Int64() != 1 {
		t.Fatalf("first CRL: %d entries, number %v; want 0, 1",
			len(crl1.RevokedCertificateEntries), crl1.Number)
	}
	if again, _ := a.CRL(ctx, ca.ID); !bytes.Equal(again, der1) {
		t.Error("an unchanged CRL was signed again")
	}

	// A device certificate is revoked: the next CRL lists it at once.
	serial := []byte{0x42, 0x17}
	err = st.PutCert(ctx, store.Cert{IssuerID: ca.ID, Serial: serial, Kind: store.CertDevice,
		Subject: "dev", DeviceID: "dev", TenantID: tn.ID, NotBefore: clk.Now(),
		NotAfter: clk.Now().Add(24 * time.Hour), CertDER: []byte{1}, CreatedAt: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	// RevokeDeviceCerts finds a device's certificates through its issuances.
	if _, err := st.RegisterDevices(ctx, []string{"dev"}, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimDevice(ctx, "dev", tn.ID, clk.Now()); err != nil {
		t.Fatal(err)
	}
	err = st.PutIssuance(ctx, store.Issuance{IssuerID: ca.ID, Serial: serial, TenantID: tn.ID,
		DeviceID: "dev", NotBefore: clk.Now(), NotAfter: clk.Now().Add(24 * time.Hour),
		CertDigest: []byte{1}, EvidenceDigest: []byte{2}, Verdict: "affirming",
		Software: "[]", CreatedAt: clk.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := st.RevokeDeviceCerts(ctx, "dev", clk.Now()); err != nil || n != 1 {
		t.Fatalf("RevokeDeviceCerts() = %d, %v", n, err)
	}
	der2, err := a.CRL(ctx, ca.ID)
	if err != nil {
		t.Fatal(err)
	}
	crl2 := parseCRL(t, der2, caCert)
	if len(crl2.RevokedCertificateEntries) != 1 || crl2.Number.Int64() != 2 {
		t.Fatalf("second CRL: %d entries, number %v; want 1, 2",
			len(crl2.RevokedCertificateEntries), crl2.Number)
	}

	// Past the refresh interval it is signed anew; once the certificate
	// expires it leaves the list.
	clk.Advance(authority.CRLRefresh + time.Minute)
	der3, _ := a.CRL(ctx, ca.ID)
	if crl3 := parseCRL(t, der3, caCert); crl3.Number.Int64() != 3 {
		t.Fatalf("refreshed CRL number %v, want 3", crl3.Number)
	}
	clk.Advance(24 * time.Hour)
	der4, _ := a.CRL(ctx, ca.ID)
	if crl4 := parseCRL(t, der4, caCert); len(crl4.RevokedCertificateEntries) != 0 {
		t.Fatalf("CRL still lists an expired certificate")
	}

	if _, err := a.CRL(ctx, "0123456789abcdef0123456789abcdef"); !errors.Is(err,
		store.ErrNotFound) {
		t.Fatalf("CRL(unknown) error = %v, want ErrNotFound", err)
	}
}

func parseCRL(t *testing.T, der []byte, issuer *x509.Certificate) *x509.RevocationList {
	t.Helper()
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	return rl
}
