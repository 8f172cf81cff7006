package loadgen

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

const about = `loadgen sets up a fleet on a running server, drives the devices through
challenge and attestation, and prints throughput, latency and the ratio to
the bound that this machine's crypto sets.

Setup goes through the admin API with an operator token: a tenant named
loadgen-<random>, a manufacturer and a tenant-admin token, --devices devices
registered and claimed, and a catalogue that trusts their simulated boot
(components "loader" and "kernel"). Publishing that catalogue REPLACES THE
SERVER'S TRUSTED SOFTWARE CATALOGUE for the length of the run: meanwhile
devices that boot anything else are refused. At the end loadgen publishes the
previous catalogue again, as a new version, and revokes its two tokens; the
tenant and its devices stay. Run it against a test server.

The bound is the most attestations a second the server's cores could
complete doing nothing but the crypto one attestation cannot avoid: verify the
evidence signature, verify the CSR signature, sign the certificate. It is
timed on one core twice, before the set-up and after the load, so that it
competes with neither; the faster of the two counts, scaled to
--server-cores.

The load runs --concurrency workers, each over its own keep-alive connection
(HTTP/1.1, TLS 1.3). Each attestation takes the least recently used device,
asks for a challenge, signs evidence and sends it with the device's CSR;
latency runs from the challenge to the end of the attestation's answer. Any
answer but 201 is an error, counted by step and code, and not retried.

Notes:
  - The server limits each device's DAA requests (its --device-rate, 30 a
    minute by default). An attestation is two requests, so with N devices at
    T attestations/s each device makes 120*T/N a minute: start the server with
    --device-rate 0 for a benchmark.
  - loadgen spends CPU on each attestation (signing the evidence, TLS, JSON:
    about half a millisecond; the report shows it) and so competes with a
    server on the same machine. For a fair figure give each its own cores,
    for example:
      taskset -c 0 hallmark serve --device-rate 0
      taskset -c 1 hallmark loadgen --server-cores 1 \
          --metrics http://127.0.0.1:9090/metrics
  - A simulated device keeps one certificate key and sends the same CSR in
    every attestation, as if it reused its key across renewals.
`

// printUsage prints the command's help.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, "usage: hallmark loadgen [flags]\n\n"+
		"Drive simulated devices through attestation and measure throughput.\n\nflags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", strings.TrimSpace(f.Name+" "+arg))
		fmt.Fprintf(w, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch f.DefValue {
		case "", "0", "0s", "false":
		default:
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
	fmt.Fprintf(w, "\n%s", about)
}
