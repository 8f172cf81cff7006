package loadgen

import (
	"math"
	"slices"
	"time"
)

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p percent of the
// values at or below it. It returns 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 || p <= 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// latencies summarises the latencies of the successful attestations.
type latencies struct {
	P50, P90, P99, Max time.Duration
}

// summarise sorts ds in place and returns its percentiles.
func summarise(ds []time.Duration) latencies {
	slices.Sort(ds)
	l := latencies{P50: percentile(ds, 50), P90: percentile(ds, 90), P99: percentile(ds, 99)}
	if len(ds) > 0 {
		l.Max = ds[len(ds)-1]
	}
	return l
}
