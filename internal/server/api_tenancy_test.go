package server

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// twoTenants is a server with tenants A and B, each with a claimed device.
type twoTenants struct {
	a, b                     string // tenant IDs
	adminA, readerA, adminB  string // token secrets
	devA, devB               string // claimed by A and B
	devFree, devNone         string // registered and unclaimed; not registered
	thumbprintA, thumbprintB string
	tokenB                   tokenInfo // a reader token of B
	operatorID               string    // the ID of the operator's token
}

func newTwoTenants(h *harness) twoTenants {
	h.t.Helper()
	var f twoTenants
	f.a, f.adminA = h.createTenant("acme")
	f.b, f.adminB = h.createTenant("globex")
	f.readerA = h.newToken("tenant-reader", f.a)
	f.tokenB = h.createToken(map[string]string{"role": "tenant-reader", "tenant_id": f.b})
	f.devA, f.devB = newDeviceID(h.t), newDeviceID(h.t)
	f.devFree, f.devNone = newDeviceID(h.t), newDeviceID(h.t)
	h.register(f.devA, f.devB, f.devFree)
	h.must(201, "POST", "/api/v1/tenants/"+f.a+"/devices/"+f.devA+"/claim", f.adminA, nil)
	h.must(201, "POST", "/api/v1/tenants/"+f.b+"/devices/"+f.devB+"/claim", f.adminB, nil)
	f.thumbprintA = h.thumbprint(f.a, f.adminA)
	f.thumbprintB = h.thumbprint(f.b, f.adminB)
	var who struct {
		TokenID string `json:"token_id"`
	}
	h.must(200, "GET", "/api/v1/whoami", h.operator, nil).json(h.t, &who)
	f.operatorID = who.TokenID
	return f
}

// isolationCase is a request of tenant A for something of tenant B. The
// answer must be the same as to twinPath (and twinBody, if not nil), which
// names something that does not exist.
type isolationCase struct {
	apiCase
	twinPath string
	twinBody any
}

// TestTenantIsolation checks that tenant A cannot see or change anything of
// tenant B, and cannot tell B's objects from ones that do not exist.
func TestTenantIsolation(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, db(t))
			f := newTwoTenants(h)
			for _, c := range isolationCases(f, h.operator) {
				t.Run(c.name, func(t *testing.T) { checkIsolation(h.sub(t), f, c) })
			}
			checkTokenIsolation(h.sub(t), f)
		})
	}
}

func isolationCases(f twoTenants, operator string) []isolationCase {
	a, b := "/api/v1/tenants/"+f.a, "/api/v1/tenants/"+f.b
	none := "/api/v1/tenants/" + randomUUID()
	noTP := strings.Repeat("ab", 32)
	proof := map[string]string{"verification_code": "ABCDEF0123456789"}
	c := func(name, method, path, token, code, action, twin string) isolationCase {
		k := isolationCase{apiCase: apiCase{name: name, method: method, path: path,
			token: token, status: 404, code: code, action: action}, twinPath: twin}
		if strings.HasSuffix(path, "/proof") {
			k.body = proof
		}
		return k
	}
	tenantB := func(name, method, rest, token, action string) isolationCase {
		return c(name, method, b+rest, token, "tenant_not_found", action, none+rest)
	}
	tokenForB := c("create token for B", "POST", "/api/v1/tokens", f.adminA,
		"tenant_not_found", "token.create", "/api/v1/tokens")
	tokenForB.body = map[string]string{"role": "tenant-reader", "tenant_id": f.b}
	tokenForB.twinBody = map[string]string{"role": "tenant-reader", "tenant_id": randomUUID()}
	// A role refusal is the same for every tenant, so it tells nothing of B.
	// A reader may not claim at all, but under another tenant's path that
	// tenant does not exist for it: 404 before 403.
	readerClaim := tenantB("reader claims under B", "POST", "/devices/"+f.devFree+"/claim",
		f.readerA, "device.claim")

	return []isolationCase{
		tenantB("get tenant", "GET", "", f.adminA, ""),
		tenantB("list devices", "GET", "/devices", f.adminA, ""),
		tenantB("get B's device", "GET", "/devices/"+f.devB, f.adminA, ""),
		tenantB("get A's device under B", "GET", "/devices/"+f.devA, f.adminA, ""),
		tenantB("claim unclaimed device", "POST", "/devices/"+f.devFree+"/claim", f.adminA,
			"device.claim"),
		tenantB("claim B's device", "POST", "/devices/"+f.devB+"/claim", f.adminA,
			"device.claim"),
		tenantB("list certificates", "GET", "/certificates", f.adminA, ""),
		tenantB("CA by B's thumbprint", "GET", "/certificates/"+f.thumbprintB, f.adminA, ""),
		tenantB("CA by A's thumbprint", "GET", "/certificates/"+f.thumbprintA, f.adminA, ""),
		tenantB("active CA", "GET", "/certificates/active", f.adminA, ""),
		tenantB("chain", "GET", "/certificates/"+f.thumbprintB+"/chain", f.adminA, ""),
		tenantB("chain as PKCS#7", "GET", "/certificates/active/chain?format=pkcs7",
			f.adminA, ""),
		tenantB("proof by B's thumbprint", "POST", "/certificates/"+f.thumbprintB+"/proof",
			f.adminA, "ca.proof"),
		tenantB("proof by A's thumbprint", "POST", "/certificates/"+f.thumbprintA+"/proof",
			f.adminA, "ca.proof"),
		tenantB("proof by active CA", "POST", "/certificates/active/proof", f.adminA,
			"ca.proof"),
		tenantB("reader gets tenant", "GET", "", f.readerA, ""),
		tenantB("reader gets device", "GET", "/devices/"+f.devB, f.readerA, ""),
		tenantB("reader downloads chain", "GET", "/certificates/active/chain", f.readerA, ""),

		c("B's CA under A", "GET", a+"/certificates/"+f.thumbprintB, f.adminA,
			"ca_not_found", "", a+"/certificates/"+noTP),
		c("B's chain under A", "GET", a+"/certificates/"+f.thumbprintB+"/chain", f.readerA,
			"ca_not_found", "", a+"/certificates/"+noTP+"/chain"),
		c("proof by B's CA under A", "POST", a+"/certificates/"+f.thumbprintB+"/proof",
			f.adminA, "ca_not_found", "ca.proof", a+"/certificates/"+noTP+"/proof"),
		c("B's device under A", "GET", a+"/devices/"+f.devB, f.adminA, "device_not_found",
			"", a+"/devices/"+f.devNone),
		c("B's device under A by reader", "GET", a+"/devices/"+f.devB, f.readerA,
			"device_not_found", "", a+"/devices/"+f.devNone),
		c("unclaimed device under A", "GET", a+"/devices/"+f.devFree, f.adminA,
			"device_not_found", "", a+"/devices/"+f.devNone),
		c("revoke B's token", "DELETE", "/api/v1/tokens/"+f.tokenB.ID, f.adminA,
			"token_not_found", "token.revoke", "/api/v1/tokens/tok_0123456789abcdef"),
		c("revoke operator's token", "DELETE", "/api/v1/tokens/"+f.operatorID, f.adminA,
			"token_not_found", "token.revoke", "/api/v1/tokens/tok_0123456789abcdef"),
		tokenForB,
		readerClaim,

		c("unknown tenant", "GET", none, f.adminA, "tenant_not_found", "",
			"/api/v1/tenants/"+randomUUID()),
		c("malformed tenant", "GET", "/api/v1/tenants/globex/devices", f.adminA,
			"tenant_not_found", "", none+"/devices"),
		c("B's ID in capitals", "GET", "/api/v1/tenants/"+strings.ToUpper(f.b), f.adminA,
			"tenant_not_found", "", none),
		c("A's ID in capitals", "GET", "/api/v1/tenants/"+strings.ToUpper(f.a)+"/devices",
			f.adminA, "tenant_not_found", "", none+"/devices"),
		c("operator, unknown tenant", "GET", none+"/certificates", operator,
			"tenant_not_found", "", "/api/v1/tenants/"+randomUUID()+"/certificates"),
		c("operator, malformed tenant", "GET", "/api/v1/tenants/x/devices", operator,
			"tenant_not_found", "", none+"/devices"),
	}
}

func checkIsolation(h *harness, f twoTenants, c isolationCase) {
	t := h.t
	var before storeState
	if c.method != "GET" {
		before = h.snapshot()
	}
	r := h.send(c.apiCase)
	if c.method != "GET" {
		h.unchanged(before, c.action, c.code)
	}

	secrets := map[string]string{"B's tenant ID": f.b, "B's device ID": f.devB,
		"B's CA thumbprint": f.thumbprintB, "B's token ID": f.tokenB.ID, "B's name": "globex"}
	for what, s := range secrets {
		if strings.Contains(strings.ToLower(string(r.body)), s) {
			t.Errorf("answer holds %s: %s", what, r.body)
		}
		for k, vs := range r.header {
			if strings.Contains(strings.ToLower(strings.Join(vs, " ")), s) {
				t.Errorf("header %s holds %s", k, what)
			}
		}
	}

	body := c.body
	if c.twinBody != nil {
		body = c.twinBody
	}
	twin := h.call(c.method, c.twinPath, c.token, body)
	if twin.status != r.status || string(twin.body) != string(r.body) {
		t.Errorf("answer differs from that for nothing:\n%d %s\nvs %s %s:\n%d %s",
			r.status, r.body, c.method, c.twinPath, twin.status, twin.body)
	}
}

// checkTokenIsolation checks what A's admin sees of tokens: only A's, even
// when it asks for B's, and B's token survives A's attempt to revoke it.
func checkTokenIsolation(h *harness, f twoTenants) {
	t := h.t
	for _, path := range []string{"/api/v1/tokens", "/api/v1/tokens?tenant_id=" + f.b} {
		r := h.must(200, "GET", path, f.adminA, nil)
		var list struct {
			Tokens []struct {
				ID       string
				TenantID string `json:"tenant_id"`
			}
		}
		r.json(t, &list)
		if len(list.Tokens) == 0 {
			t.Errorf("GET %s lists no tokens", path)
		}
		for _, tok := range list.Tokens {
			if tok.TenantID != f.a {
				t.Errorf("GET %s lists token %s of tenant %q", path, tok.ID, tok.TenantID)
			}
		}
		if strings.Contains(string(r.body), f.b) || strings.Contains(string(r.body),
			f.tokenB.ID) {
			t.Errorf("GET %s shows tenant B: %s", path, r.body)
		}
	}
	h.must(200, "GET", "/api/v1/tenants/"+f.b, f.tokenB.Secret, nil)

	var list struct{ Devices []struct{ ID string } }
	h.must(200, "GET", "/api/v1/tenants/"+f.a+"/devices", f.readerA, nil).json(t, &list)
	if len(list.Devices) != 1 || list.Devices[0].ID != f.devA {
		t.Errorf("A's devices = %+v, want only %s", list.Devices, f.devA)
	}
}

// claimAnswer is the answer to a claim.
type claimAnswer struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Claimed  bool   `json:"claimed"`
}

// TestClaim checks that a claim is once and for ever: the same tenant again
// is a no-op, another tenant gets 409.
func TestClaim(t *testing.T) {
	for name, db := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := start(t, db(t))
			f := newTwoTenants(h)
			claimA := "/api/v1/tenants/" + f.a + "/devices/" + f.devFree + "/claim"
			claimB := "/api/v1/tenants/" + f.b + "/devices/" + f.devFree + "/claim"

			h.expect(t, apiCase{name: "unregistered device", method: "POST",
				path:  "/api/v1/tenants/" + f.a + "/devices/" + f.devNone + "/claim",
				token: f.adminA, status: 404, code: "device_not_found", action: "device.claim"})

			var got claimAnswer
			h.must(201, "POST", claimA, f.adminA, nil).json(t, &got)
			if want := (claimAnswer{f.devFree, f.a, true}); got != want {
				t.Errorf("first claim = %+v, want %+v", got, want)
			}

			t.Run("same tenant again", func(t *testing.T) {
				h := h.sub(t)
				before := h.snapshot()
				var got claimAnswer
				h.must(200, "POST", claimA, f.adminA, nil).json(t, &got)
				if want := (claimAnswer{f.devFree, f.a, false}); got != want {
					t.Errorf("second claim = %+v, want %+v", got, want)
				}
				h.unchanged(before, "device.claim", "ok")
			})
			h.expect(t, apiCase{name: "other tenant", method: "POST", path: claimB,
				token: f.adminB, status: 409, code: "device_claimed", action: "device.claim"},
				apiCase{name: "other tenant's device", method: "POST",
					path:  "/api/v1/tenants/" + f.a + "/devices/" + f.devB + "/claim",
					token: f.adminA, status: 409, code: "device_claimed",
					action: "device.claim"},
				apiCase{name: "other tenant cannot see it", method: "GET",
					path: "/api/v1/tenants/" + f.b + "/devices/" + f.devFree, token: f.adminB,
					status: 404, code: "device_not_found"})
			h.must(200, "GET", "/api/v1/tenants/"+f.a+"/devices/"+f.devFree, f.readerA, nil)

			t.Run("concurrent", func(t *testing.T) { concurrentClaims(h.sub(t), f) })
		})
	}
}

// concurrentClaims lets A and B claim the same device at once, for fresh
// devices: one must win and the other get 409, every time.
func concurrentClaims(h *harness, f twoTenants) {
	t := h.t
	const rounds = 10
	devs := make([]string, rounds)
	for i := range devs {
		devs[i] = newDeviceID(t)
	}
	h.register(devs...)

	tenants := []struct{ id, token string }{{f.a, f.adminA}, {f.b, f.adminB}}
	for i, dev := range devs {
		var wg sync.WaitGroup
		ready := make(chan struct{})
		answers := make([]response, len(tenants))
		errs := make([]error, len(tenants))
		for j, tn := range tenants {
			wg.Go(func() {
				<-ready
				answers[j], errs[j] = h.request("POST",
					"/api/v1/tenants/"+tn.id+"/devices/"+dev+"/claim",
					http.Header{"Authorization": {"Bearer " + tn.token}}, nil)
			})
		}
		close(ready)
		wg.Wait()

		var statuses []int
		winner := -1
		for j, r := range answers {
			if errs[j] != nil {
				t.Fatalf("round %d: %v", i, errs[j])
			}
			statuses = append(statuses, r.status)
			if r.status == 201 {
				winner = j
			} else if r.code() != "device_claimed" {
				t.Errorf("round %d: loser got %d %s", i, r.status, r.body)
			}
		}
		slices.Sort(statuses)
		if !cmp.Equal(statuses, []int{201, 409}) {
			t.Errorf("round %d: statuses %v, want one 201 and one 409", i, statuses)
			continue
		}
		w := tenants[winner]
		var d struct {
			TenantID string `json:"tenant_id"`
		}
		h.must(200, "GET", "/api/v1/tenants/"+w.id+"/devices/"+dev, w.token, nil).json(t, &d)
		if d.TenantID != w.id {
			t.Errorf("round %d: device belongs to %q, want the winner %s", i, d.TenantID,
				w.id)
		}
	}
}
