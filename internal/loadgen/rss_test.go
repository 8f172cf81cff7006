package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRSS(t *testing.T) {
	tests := []struct {
		name string
		body string
		want float64
	}{
		{"plain", "# HELP x\n# TYPE process_resident_memory_bytes gauge\n" +
			"process_resident_memory_bytes 4.2e+07\n", 4.2e7},
		{"among others", "go_goroutines 12\nprocess_resident_memory_bytes 123456\n" +
			"process_virtual_memory_bytes 9e9\n", 123456},
		{"labels", `process_resident_memory_bytes{job="hallmark"} 2048` + "\n", 2048},
		{"timestamp", "process_resident_memory_bytes 4096 1700000000000\n", 4096},
		{"longer name first", "process_resident_memory_bytes_max 1\n" +
			"process_resident_memory_bytes 77\n", 77},
		{"no final newline", "process_resident_memory_bytes 5", 5},
		{"leading spaces", "  process_resident_memory_bytes 6\n", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRSS(strings.NewReader(tt.body))
			if err != nil || got != tt.want {
				t.Errorf("parseRSS = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseRSSErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"absent", "go_goroutines 12\n", "no process_resident_memory_bytes sample"},
		{"empty", "", "no process_resident_memory_bytes sample"},
		{"only the help", "# HELP process_resident_memory_bytes x\n", "no process_resident"},
		{"no value", "process_resident_memory_bytes\t\n", "no value"},
		{"not a number", "process_resident_memory_bytes lots\n", `bad value "lots"`},
		{"negative", "process_resident_memory_bytes -1\n", "bad value"},
		{"not a number value", "process_resident_memory_bytes NaN\n", "bad value"},
		{"infinite", "process_resident_memory_bytes +Inf\n", "bad value"},
		{"open labels", `process_resident_memory_bytes{job="x" 1`, "unterminated labels"},
		{"line too long", "process_resident_memory_bytes 1" + strings.Repeat("0", 2<<20),
			"read metrics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRSS(strings.NewReader(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseRSS = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParseRSS(f *testing.F) {
	f.Add("process_resident_memory_bytes 1\n")
	f.Add(`process_resident_memory_bytes{a="}"} 2 3`)
	f.Fuzz(func(t *testing.T, body string) {
		v, err := parseRSS(strings.NewReader(body))
		if err == nil && !(v >= 0) {
			t.Errorf("parseRSS(%q) = %v without an error", body, v)
		}
	})
}

func TestScrapeRSS(t *testing.T) {
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			// 3, 5, 4, 4, 4...: the peak is 5 MiB.
			n := min(scrapes.Add(1), 3)
			fmt.Fprintf(w, "process_resident_memory_bytes %d\n", []int64{3, 5, 4}[n-1]<<20)
		case "/broken":
			http.Error(w, "down", http.StatusServiceUnavailable)
		default:
			fmt.Fprintln(w, "go_goroutines 3")
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	p, err := startRSS(ctx, srv.Client(), srv.URL+"/metrics", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	for scrapes.Load() < 4 {
		time.Sleep(time.Millisecond)
	}
	res := p.Stop()
	if res.PeakBytes != 5<<20 || res.Samples < 4 || res.Failures != 0 {
		t.Errorf("poller saw %+v, want a peak of 5 MiB in at least 4 samples", res)
	}

	if _, err := startRSS(ctx, srv.Client(), srv.URL+"/broken", time.Second); err == nil ||
		!strings.Contains(err.Error(), "503") {
		t.Errorf("startRSS on a failing endpoint: %v, want its status", err)
	}
	_, err = scrapeRSS(ctx, srv.Client(), srv.URL+"/other")
	if !errors.Is(err, errNoRSS) {
		t.Errorf("scrapeRSS of a page without the gauge: %v, want errNoRSS", err)
	}
	if _, err := scrapeRSS(ctx, srv.Client(), "http://[::1"); err == nil {
		t.Error("scrapeRSS of a bad URL succeeded")
	}
}
