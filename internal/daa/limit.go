package daa

import (
	"sync"
	"time"
)

// limiter is a token bucket per device: a device may make burst requests at
// once and rate requests per second after that, so that one looping device
// cannot starve the others. Idle buckets are dropped, and the table holds at
// most maxBuckets devices: past that, new devices share one bucket until the
// next sweep, which bounds memory under a flood of made-up IDs.
type limiter struct {
	rate  float64 // tokens per second; 0 disables the limiter
	burst float64
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket // guarded by mu
	overflow  bucket             // guarded by mu
	lastSweep time.Time          // guarded by mu
}

type bucket struct {
	tokens float64
	last   time.Time
}

const (
	maxBuckets    = 1 << 20
	sweepInterval = time.Minute
)

func newLimiter(perMinute float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: perMinute / 60, burst: float64(burst), now: now,
		buckets: make(map[string]*bucket)}
}

// allow takes a token for the device, or says how long until one is free.
func (l *limiter) allow(device string) (bool, time.Duration) {
	if l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > sweepInterval {
		l.sweep(now)
	}
	b := l.buckets[device]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			b = &l.overflow
		} else {
			b = &bucket{tokens: l.burst, last: now}
			l.buckets[device] = b
		}
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, wait
}

// sweep drops buckets that have refilled: they are as good as new.
func (l *limiter) sweep(now time.Time) {
	full := time.Duration(l.burst / l.rate * float64(time.Second))
	for id, b := range l.buckets {
		if now.Sub(b.last) >= full {
			delete(l.buckets, id)
		}
	}
	l.lastSweep = now
}
