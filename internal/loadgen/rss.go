package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rssMetric is the Prometheus process collector's resident memory gauge.
const rssMetric = "process_resident_memory_bytes"

// maxMetricsBody bounds a scraped metrics page.
const maxMetricsBody = 8 << 20

// errNoRSS says that a metrics page lacks the resident memory gauge.
var errNoRSS = errors.New("no " + rssMetric + " sample")

// parseRSS returns the value of the first process_resident_memory_bytes
// sample in a Prometheus text exposition.
func parseRSS(r io.Reader) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		rest, ok := strings.CutPrefix(line, rssMetric)
		if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '{' {
			continue // another metric, or one whose name starts with rssMetric
		}
		if strings.HasPrefix(rest, "{") {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return 0, fmt.Errorf("%s: unterminated labels", rssMetric)
			}
			rest = rest[end+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, fmt.Errorf("%s: no value", rssMetric)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("%s: bad value %q", rssMetric, fields[0])
		}
		return v, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return 0, errNoRSS
}

// scrapeRSS reads the server's resident memory from its metrics endpoint.
func scrapeRSS(ctx context.Context, hc *http.Client, url string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/plain")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return parseRSS(io.LimitReader(resp.Body, maxMetricsBody))
}

// rssPoller keeps the peak of the server's resident memory, polled at an
// interval from its metrics endpoint.
type rssPoller struct {
	stop chan struct{}
	done chan struct{}

	// Written by the polling goroutine; read once done is closed.
	peak     float64
	samples  int
	failures int
	lastErr  error
}

// startRSS scrapes once, failing if that fails, then polls every interval
// until Stop.
func startRSS(ctx context.Context, hc *http.Client, url string,
	interval time.Duration) (*rssPoller, error) {
	v, err := scrapeRSS(ctx, hc, url)
	if err != nil {
		return nil, err
	}
	p := &rssPoller{stop: make(chan struct{}), done: make(chan struct{}), peak: v, samples: 1}
	go p.run(ctx, hc, url, interval)
	return p, nil
}

func (p *rssPoller) run(ctx context.Context, hc *http.Client, url string,
	interval time.Duration) {
	defer close(p.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		v, err := scrapeRSS(ctx, hc, url)
		if err != nil {
			p.failures++
			p.lastErr = err
			continue
		}
		p.samples++
		p.peak = max(p.peak, v)
	}
}

// rssResult is what a poller saw.
type rssResult struct {
	PeakBytes float64
	Samples   int
	Failures  int
	LastErr   error
}

// Stop ends the polling and returns the peak.
func (p *rssPoller) Stop() rssResult {
	close(p.stop)
	<-p.done
	return rssResult{PeakBytes: p.peak, Samples: p.samples, Failures: p.failures,
		LastErr: p.lastErr}
}
