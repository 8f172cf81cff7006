package loadgen

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// simDevice is one simulated device. Everything that does not change from
// one attestation to the next is made once, at setup, so that the load
// generator spends its CPU on what a device must redo each time: signing
// the evidence.
type simDevice struct {
	id  string            // the device ID, 128 hex characters
	key *ecdsa.PrivateKey // the identity key, in memory
	// certKey is the key the device's certificates carry. A simulated
	// device keeps it across renewals and sends the same CSR each time.
	certKey *ecdsa.PublicKey
	binding [32]byte // evidence.KeyBindingOf(certKey)
	csr     []byte   // PKCS#10 DER for certKey

	challengeBody []byte // {"device_id": "..."}
	csrTail       []byte // `","csr":"<base64>"}`: the end of an attestation body
}

// bootComponents is the measured boot of every simulated device; it is
// only read.
var bootComponents = []evidence.Component{
	{Name: "loader", Version: "1.0", Digest: sha256.Sum256([]byte("loadgen loader 1.0")),
		SVN: 1},
	{Name: "kernel", Version: "6.1", Digest: sha256.Sum256([]byte("loadgen kernel 6.1")),
		SVN: 1},
}

// catalogueJSON returns a catalogue document that trusts bootComponents.
func catalogueJSON() []byte {
	type release struct {
		Digest  string `json:"digest"`
		Version string `json:"version"`
		SVN     uint64 `json:"svn"`
	}
	type component struct {
		Name    string    `json:"name"`
		MinSVN  uint64    `json:"min_svn"`
		Trusted []release `json:"trusted"`
	}
	var doc struct {
		Components []component `json:"components"`
	}
	for _, c := range bootComponents {
		doc.Components = append(doc.Components, component{Name: c.Name, MinSVN: c.SVN,
			Trusted: []release{{Digest: fmt.Sprintf("%x", c.Digest), Version: c.Version,
				SVN: c.SVN}}})
	}
	b, _ := json.Marshal(doc) // a struct of strings and numbers always marshals
	return b
}

// newDevice makes a device: its identity key, its certificate key and the
// CSR it will send in every attestation.
func newDevice() (*simDevice, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	id, err := deviceid.FromPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("device ID: %w", err)
	}
	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate certificate key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: id.String()}}, certKey)
	if err != nil {
		return nil, fmt.Errorf("create CSR: %w", err)
	}
	binding, err := evidence.KeyBindingOf(&certKey.PublicKey)
	if err != nil {
		return nil, err
	}

	body, err := json.Marshal(wire.ChallengeRequest{DeviceID: id.String()})
	if err != nil {
		return nil, fmt.Errorf("encode challenge request: %w", err)
	}
	tail := append([]byte(`","csr":"`), base64.StdEncoding.EncodeToString(csr)...)
	return &simDevice{id: id.String(), key: key, certKey: &certKey.PublicKey,
		binding: binding, csr: csr, challengeBody: body, csrTail: append(tail, `"}`...)}, nil
}

// newDevices makes n devices, on every core.
func newDevices(ctx context.Context, n int) ([]*simDevice, error) {
	devs := make([]*simDevice, n)
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), n) {
		wg.Go(func() {
			for i := range next {
				d, err := newDevice()
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				devs[i] = d
			}
		})
	}
	var err error
loop:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break loop
		case <-ctx.Done():
			err = ctx.Err()
			break loop
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return nil, fmt.Errorf("make devices: %w", err)
	}
	return devs, nil
}

// sign returns evidence for a challenge's nonce, signed by the identity key.
func (d *simDevice) sign(nonce []byte, now time.Time) ([]byte, error) {
	return evidence.Sign(d.key, evidence.Claims{Nonce: nonce, IssuedAt: now,
		Components: bootComponents, KeyBinding: d.binding})
}

// attestationBody appends to buf the JSON body of an attestation carrying
// ev and the device's CSR.
func (d *simDevice) attestationBody(buf, ev []byte) []byte {
	buf = append(buf, `{"evidence":"`...)
	buf = base64.StdEncoding.AppendEncode(buf, ev)
	return append(buf, d.csrTail...)
}
