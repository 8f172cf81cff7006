package loadgen

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var ds []time.Duration
		for _, n := range ns {
			ds = append(ds, time.Duration(n)*time.Millisecond)
		}
		return ds
	}
	ten := ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"none", nil, 50, 0},
		{"one", ms(7), 50, 7 * time.Millisecond},
		{"one p99", ms(7), 99, 7 * time.Millisecond},
		{"median of ten", ten, 50, 5 * time.Millisecond},
		{"p90 of ten", ten, 90, 9 * time.Millisecond},
		{"p91 of ten", ten, 91, 10 * time.Millisecond},
		{"p99 of ten", ten, 99, 10 * time.Millisecond},
		{"p100", ten, 100, 10 * time.Millisecond},
		{"tiny p", ten, 0.1, 1 * time.Millisecond},
		{"zero p", ten, 0, 0},
		{"p over 100", ten, 150, 10 * time.Millisecond},
		{"median of two", ms(1, 2), 50, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarise(t *testing.T) {
	var ds []time.Duration
	for i := 200; i >= 1; i-- { // unsorted on purpose
		ds = append(ds, time.Duration(i)*time.Microsecond)
	}
	got := summarise(ds)
	want := latencies{P50: 100 * time.Microsecond, P90: 180 * time.Microsecond,
		P99: 198 * time.Microsecond, Max: 200 * time.Microsecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summarise (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(latencies{}, summarise(nil)); diff != "" {
		t.Errorf("summarise(nil) (-want +got):\n%s", diff)
	}
}
