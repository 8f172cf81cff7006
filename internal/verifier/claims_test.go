package verifier

import (
	"fmt"
	"testing"
)

// TestClaimsBounded fills the claims past their bound: they keep at most
// maxClaims, always the one just remembered, and a device remembered again
// takes no more room.
func TestClaimsBounded(t *testing.T) {
	var c claims
	if _, ok := c.tenant("d-0"); ok {
		t.Fatal("an empty cache remembered a claim")
	}
	for i := range maxClaims + 10 {
		d := fmt.Sprintf("d-%d", i)
		c.remember(d, "t-a")
		if got, ok := c.tenant(d); !ok || got != "t-a" {
			t.Fatalf("tenant(%s) = %q, %v just after remembering it", d, got, ok)
		}
	}
	if n := len(c.tenants); n != maxClaims {
		t.Errorf("%d claims kept, want %d", n, maxClaims)
	}
	last := fmt.Sprintf("d-%d", maxClaims+9)
	c.remember(last, "t-a")
	if n := len(c.tenants); n != maxClaims {
		t.Errorf("remembering a known device again: %d claims, want %d", n, maxClaims)
	}
}
