package daa

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(60, 3, func() time.Time { return now }) // one a second, three at once

	for i := range 3 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.allow("a")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("fourth request = %v, wait %v; want refused with a wait up to 1s", ok, wait)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("another device was refused while the first was limited")
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("a"); !ok {
		t.Fatal("a token did not come back after a second")
	}
	if ok, _ := l.allow("a"); ok {
		t.Fatal("more than one token came back after a second")
	}
}

func TestLimiterDisabled(t *testing.T) {
	l := newLimiter(0, 1, time.Now)
	for range 100 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatal("a disabled limiter refused a request")
		}
	}
}

func TestLimiterSweepsIdleDevices(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(60, 2, func() time.Time { return now })
	for i := range 1000 {
		l.allow(fmt.Sprint(i))
	}
	now = now.Add(2 * sweepInterval)
	l.allow("new")
	if n := len(l.buckets); n != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", n)
	}
}
