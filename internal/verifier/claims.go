package verifier

import "sync"

// maxClaims bounds how many claims a Verifier remembers: some 20 MiB of
// device and tenant IDs at most.
const maxClaims = 1 << 16

// claims remembers which tenant claimed each device it has seen attest. A
// claim is for ever (DESIGN.md section 6) and a device is never deleted, so
// what it remembers stays true on every replica; whether the device is
// blocked changes, and is not kept here.
type claims struct {
	mu      sync.Mutex
	tenants map[string]string // tenant ID by device ID; guarded by mu
}

// tenant returns the tenant that claimed the device, if remembered.
func (c *claims) tenant(device string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tenants[device]
	return t, ok
}

// remember records the tenant that claimed the device. When full, it
// forgets one claim, the first that map iteration gives.
func (c *claims) remember(device, tenant string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tenants == nil {
		c.tenants = make(map[string]string)
	}
	if _, ok := c.tenants[device]; !ok && len(c.tenants) >= maxClaims {
		for d := range c.tenants {
			delete(c.tenants, d)
			break
		}
	}
	c.tenants[device] = tenant
}
