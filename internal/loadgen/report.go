package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"
	"time"
)

// report is the outcome of a run, as --output json prints it.
type report struct {
	Tenant      string `json:"tenant"`
	Devices     int    `json:"devices"`
	Concurrency int    `json:"concurrency"`
	ClientCores int    `json:"client_cores"`
	// ClientCPU is loadgen's own CPU time during the measured load, and
	// ClientCPUPerAttestation that over the attestations tried; both 0
	// where the system does not say.
	ClientCPU               float64        `json:"client_cpu_seconds"`
	ClientCPUPerAttestation float64        `json:"client_cpu_per_attestation_us"`
	Warmup                  int            `json:"warmup"`
	WarmupErrors            int            `json:"warmup_errors"`
	Attestations            int            `json:"attestations"` // measured, successful
	Errors                  map[string]int `json:"errors"`       // measured, by step/code
	Elapsed                 float64        `json:"elapsed_seconds"`
	PerSecond               float64        `json:"attestations_per_second"`
	LatencyMS               latencyJSON    `json:"latency_ms"`
	Bound                   boundJSON      `json:"bound"`
	// Ratio is PerSecond over the bound's.
	Ratio float64 `json:"ratio_to_bound"`
	// PeakRSS is the server's peak resident memory, with --metrics.
	PeakRSS    *int64 `json:"peak_server_rss_bytes,omitempty"`
	RSSSamples int    `json:"rss_samples,omitempty"`
}

type latencyJSON struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

type boundJSON struct {
	Iterations       int     `json:"iterations"`
	EvidenceVerifyUS float64 `json:"evidence_verify_us"`
	CSRCheckUS       float64 `json:"csr_check_us"`
	CertificateUS    float64 `json:"certificate_us"`
	TotalUS          float64 `json:"total_us"`
	ServerCores      int     `json:"server_cores"`
	PerSecond        float64 `json:"attestations_per_second"`
	// Measured says which of the two measurements this is, the faster.
	Measured string `json:"measured"`
}

// newReport puts the measurements together.
func newReport(c *config, f *fleet, clientCores int, warm, load tally, b bound,
	rss *rssResult) report {
	lat := summarise(load.Latencies)
	r := report{Tenant: f.tenantName, Devices: c.devices, Concurrency: c.concurrency,
		ClientCores: clientCores, Warmup: c.warmup, WarmupErrors: errorCount(warm.Errors),
		Attestations: load.OK, Errors: load.Errors, Elapsed: load.Elapsed.Seconds(),
		LatencyMS: latencyJSON{P50: ms(lat.P50), P90: ms(lat.P90), P99: ms(lat.P99),
			Max: ms(lat.Max)},
		Bound: boundJSON{Iterations: b.Iterations, EvidenceVerifyUS: us(b.EvidenceVerify),
			CSRCheckUS: us(b.CSRCheck), CertificateUS: us(b.CertCreate),
			TotalUS: us(b.PerAttestation()), ServerCores: b.ServerCores,
			PerSecond: b.PerSecond(), Measured: b.When}}
	r.ClientCPU = load.CPU.Seconds()
	if tried := load.OK + errorCount(load.Errors); tried > 0 {
		r.ClientCPUPerAttestation = us(load.CPU) / float64(tried)
	}
	if load.Elapsed > 0 {
		r.PerSecond = float64(load.OK) / load.Elapsed.Seconds()
	}
	if b.PerSecond() > 0 {
		r.Ratio = r.PerSecond / b.PerSecond()
	}
	if rss != nil {
		peak := int64(rss.PeakBytes)
		r.PeakRSS, r.RSSSamples = &peak, rss.Samples
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func errorCount(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// write prints the report as text or JSON.
func (r report) write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "tenant\t%s\n", r.Tenant)
	fmt.Fprintf(tw, "devices\t%d, %d attesting at once\n", r.Devices, r.Concurrency)
	fmt.Fprintf(tw, "client cores\t%d\n", r.ClientCores)
	if r.ClientCPU > 0 {
		fmt.Fprintf(tw, "client CPU\t%.2f s in the load, %.0f µs per attestation\n",
			r.ClientCPU, r.ClientCPUPerAttestation)
	}
	fmt.Fprintf(tw, "attestations\t%d, after %d of warm-up (%d failed)\n", r.Attestations,
		r.Warmup, r.WarmupErrors)
	fmt.Fprintf(tw, "errors\t%d\n", errorCount(r.Errors))
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(tw, "  %s\t%d\n", k, r.Errors[k])
	}
	fmt.Fprintf(tw, "elapsed\t%.2f s\n", r.Elapsed)
	fmt.Fprintf(tw, "throughput\t%.1f attestations/s\n", r.PerSecond)
	fmt.Fprintf(tw, "latency\tp50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		r.LatencyMS.P50, r.LatencyMS.P90, r.LatencyMS.P99, r.LatencyMS.Max)
	b := r.Bound
	fmt.Fprintf(tw, "bound per core\tevidence verify %.0f µs + CSR check %.0f µs + "+
		"certificate %.0f µs = %.0f µs (%d rounds, %s, the faster of two)\n",
		b.EvidenceVerifyUS, b.CSRCheckUS, b.CertificateUS, b.TotalUS, b.Iterations, b.Measured)
	fmt.Fprintf(tw, "bound\t%.0f attestations/s on %d server cores\n", b.PerSecond,
		b.ServerCores)
	fmt.Fprintf(tw, "ratio\t%.1f%% of the bound\n", 100*r.Ratio)
	if r.PeakRSS != nil {
		fmt.Fprintf(tw, "peak server RSS\t%.1f MiB (%d samples)\n",
			float64(*r.PeakRSS)/(1<<20), r.RSSSamples)
	}
	return tw.Flush()
}
