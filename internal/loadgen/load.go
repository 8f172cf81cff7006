package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// maxDAABody bounds a DAA answer that loadgen reads.
const maxDAABody = 1 << 20

// newTransport returns the keep-alive HTTPS transport of the load: HTTP/1.1
// over TLS 1.3, so that each worker holds a connection of its own, as each
// device would, and up to conns idle connections are kept.
func newTransport(roots *x509.CertPool, conns int) *http.Transport {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	return &http.Transport{
		DialContext: (&net.Dialer{Timeout: 10 * time.Second,
			KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS13},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		Protocols:           protocols,
	}
}

// loader runs attestations against the DAA.
type loader struct {
	daa   string // base URL, without a trailing slash
	hc    *http.Client
	check bool // parse and check each certificate
	// free holds the devices not in use, least recently used first, so a
	// device attests for one worker at a time and the fleet takes turns.
	free chan *simDevice
}

func newLoader(daa string, hc *http.Client, devs []*simDevice, check bool) *loader {
	l := &loader{daa: daa, hc: hc, check: check, free: make(chan *simDevice, len(devs))}
	for _, d := range devs {
		l.free <- d
	}
	return l
}

// failure is an attestation that did not earn a certificate. Key, the step
// and the error code such as "attestation/nonce_expired", is what the
// report counts.
type failure struct {
	Key string
	Msg string
	Err error // the cause, for a failure to reach the DAA; else nil
}

func (f *failure) Error() string { return f.Key + ": " + f.Msg }

func (f *failure) Unwrap() error { return f.Err }

// tally is what one phase of the load counted.
type tally struct {
	OK        int
	Errors    map[string]int
	Latencies []time.Duration // of the successful attestations
	Elapsed   time.Duration
	// CPU is the load generator's own CPU time during the phase; 0 where
	// the system does not say.
	CPU time.Duration
}

// phase runs attestations from workers until n have started (if n > 0),
// until the deadline (if not zero), or until ctx ends. An attestation that
// ctx cut short is not counted.
func (l *loader) phase(ctx context.Context, workers int, n int64, deadline time.Time) tally {
	var started atomic.Int64
	parts := make([]tally, workers)
	cpu0, cpuOK := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			t := &parts[i]
			t.Errors = map[string]int{}
			if n > 0 {
				t.Latencies = make([]time.Duration, 0, n/int64(workers)+1)
			}
			w := &worker{l: l}
			for ctx.Err() == nil {
				if n > 0 && started.Add(1) > n ||
					!deadline.IsZero() && !time.Now().Before(deadline) {
					return
				}
				lat, f := w.next(ctx)
				switch {
				case ctx.Err() != nil:
					return
				case f != nil:
					t.Errors[f.Key]++
				default:
					t.OK++
					t.Latencies = append(t.Latencies, lat)
				}
			}
		})
	}
	wg.Wait()

	total := tally{Errors: map[string]int{}, Elapsed: time.Since(start)}
	if cpu1, ok := processCPU(); ok && cpuOK {
		total.CPU = cpu1 - cpu0
	}
	for _, p := range parts {
		total.OK += p.OK
		total.Latencies = append(total.Latencies, p.Latencies...)
		for k, v := range p.Errors {
			total.Errors[k] += v
		}
	}
	return total
}

// ready attests until one attestation earns a certificate, for up to
// timeout while the answers are software refusals: a server may appraise
// against its previous catalogue for a moment after a publication. Any other
// failure ends it at once.
func (l *loader) ready(ctx context.Context, timeout, pause time.Duration) error {
	deadline := time.Now().Add(timeout)
	w := &worker{l: l}
	for {
		_, f := w.next(ctx)
		switch {
		case f == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !strings.HasPrefix(f.Key, "attestation/software_"),
			time.Now().Add(pause).After(deadline):
			return f
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// worker is one simulated device connection. Its buffers are reused from
// one attestation to the next.
type worker struct {
	l      *loader
	body   []byte
	answer bytes.Buffer
}

// next attests the least recently used free device and returns the time
// from the challenge to the end of the attestation's answer.
func (w *worker) next(ctx context.Context) (time.Duration, *failure) {
	d := <-w.l.free
	defer func() { w.l.free <- d }()
	start := time.Now()
	f := w.attest(ctx, d)
	return time.Since(start), f
}

// attest runs one challenge and attestation for d.
func (w *worker) attest(ctx context.Context, d *simDevice) *failure {
	status, answer, err := w.post(ctx, wire.ChallengesPath, d.challengeBody)
	if f := answerFailure("challenge", status, answer, err); f != nil {
		return f
	}
	var ch wire.ChallengeResponse
	if err := json.Unmarshal(answer, &ch); err != nil || len(ch.Nonce) != evidence.NonceSize {
		return &failure{Key: "challenge/bad_answer", Msg: "the answer has no 32-byte nonce"}
	}

	ev, err := d.sign(ch.Nonce, time.Now())
	if err != nil {
		return &failure{Key: "device/sign", Msg: err.Error()}
	}
	w.body = d.attestationBody(w.body[:0], ev)
	status, answer, err = w.post(ctx, wire.AttestationsPath, w.body)
	if f := answerFailure("attestation", status, answer, err); f != nil {
		return f
	}
	var res wire.AttestationResponse
	if err := json.Unmarshal(answer, &res); err != nil || res.Certificate == "" {
		return &failure{Key: "attestation/bad_answer", Msg: "the answer has no certificate"}
	}
	if w.l.check {
		if err := checkCertificate(res, d); err != nil {
			return &failure{Key: "attestation/check_failed", Msg: err.Error()}
		}
	}
	return nil
}

// post sends a JSON body to the DAA and reads the whole answer, so that the
// connection can be used again. The answer is valid until the next post.
func (w *worker) post(ctx context.Context, path string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.l.daa+path,
		bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.l.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	w.answer.Reset()
	if _, err := w.answer.ReadFrom(io.LimitReader(resp.Body, maxDAABody)); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, w.answer.Bytes(), nil
}

// answerFailure returns the failure of a DAA answer that is not 201.
func answerFailure(step string, status int, answer []byte, err error) *failure {
	if err != nil {
		return &failure{Key: step + "/transport", Msg: err.Error(), Err: err}
	}
	if status == http.StatusCreated {
		return nil
	}
	var e wire.ErrorResponse
	if json.Unmarshal(answer, &e) == nil && e.Error.Code != "" {
		return &failure{Key: step + "/" + e.Error.Code,
			Msg: fmt.Sprintf("%d: %s", status, e.Error.Message)}
	}
	return &failure{Key: fmt.Sprintf("%s/http_%d", step, status),
		Msg: http.StatusText(status)}
}

// checkCertificate checks that a certificate names d and carries its key.
func checkCertificate(res wire.AttestationResponse, d *simDevice) error {
	block, _ := pem.Decode([]byte(res.Certificate))
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("the certificate is not PEM")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return fmt.Errorf("parse certificate: %w", err)
	}
	if cert.Subject.CommonName != d.id {
		return errors.New("the certificate's CN is not the device ID")
	}
	if !d.certKey.Equal(cert.PublicKey) {
		return errors.New("the certificate does not carry the CSR's key")
	}
	if block, _ := pem.Decode([]byte(res.Chain)); block == nil {
		return errors.New("the answer has no chain")
	}
	return nil
}
