package loadgen

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// bound is the most attestations a second that the server's cores could
// complete if they did nothing but the crypto that one attestation cannot
// avoid: verify the evidence's ES256 signature, verify the CSR's signature,
// and sign the device certificate. Storage, TLS, JSON and CBOR are left
// out, so no server reaches it; the ratio to it says how much the rest costs.
type bound struct {
	Iterations     int
	EvidenceVerify time.Duration // per attestation, on one core
	CSRCheck       time.Duration
	CertCreate     time.Duration
	ServerCores    int
	// When says which measurement this is: "before the set-up" or "after
	// the load".
	When string
}

// faster returns whichever of b and o took less time per attestation. The
// bound is measured before the set-up and again after the load, and the
// faster one counts: this shared machine's speed drifts over seconds, and
// the faster measurement gives the higher bound, the stricter ratio.
func (b bound) faster(o bound) bound {
	if o.PerAttestation() > 0 && o.PerAttestation() < b.PerAttestation() {
		return o
	}
	return b
}

// PerAttestation is the crypto time of one attestation on one core.
func (b bound) PerAttestation() time.Duration {
	return b.EvidenceVerify + b.CSRCheck + b.CertCreate
}

// PerSecond is the bound: attestations a second on ServerCores cores.
func (b bound) PerSecond() float64 {
	per := b.PerAttestation()
	if per <= 0 {
		return 0
	}
	return float64(b.ServerCores) * float64(time.Second) / float64(per)
}

// boundWork is the input of one measurement, made before the clock starts.
type boundWork struct {
	idKey    *ecdsa.PublicKey
	message  []byte // stands in for the COSE Sig_structure the server hashes
	sig      []byte // ASN.1 ECDSA signature of SHA-256(message)
	csr      *x509.CertificateRequest
	caCert   *x509.Certificate
	caKey    *ecdsa.PrivateKey
	template *x509.Certificate
}

// measureBound times the three operations one after the other, on one
// goroutine, until at least minTime has passed and minIters rounds are done,
// and scales the result to serverCores.
func measureBound(minTime time.Duration, minIters, serverCores int) (bound, error) {
	w, err := newBoundWork()
	if err != nil {
		return bound{}, fmt.Errorf("prepare bound: %w", err)
	}
	b := bound{ServerCores: serverCores}
	var total time.Duration
	for b.Iterations < minIters || total < minTime {
		t0 := time.Now()
		digest := sha256.Sum256(w.message)
		if !ecdsa.VerifyASN1(w.idKey, digest[:], w.sig) {
			return bound{}, errors.New("bound: evidence signature does not verify")
		}
		t1 := time.Now()
		if err := w.csr.CheckSignature(); err != nil {
			return bound{}, fmt.Errorf("bound: CSR: %w", err)
		}
		t2 := time.Now()
		if err := w.createCertificate(); err != nil {
			return bound{}, err
		}
		t3 := time.Now()

		b.EvidenceVerify += t1.Sub(t0)
		b.CSRCheck += t2.Sub(t1)
		b.CertCreate += t3.Sub(t2)
		total += t3.Sub(t0)
		b.Iterations++
	}
	n := time.Duration(b.Iterations)
	b.EvidenceVerify, b.CSRCheck, b.CertCreate = b.EvidenceVerify/n, b.CSRCheck/n,
		b.CertCreate/n
	return b, nil
}

// createCertificate signs a device certificate with a fresh serial, as the
// CA engine does.
func (w *boundWork) createCertificate() error {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return fmt.Errorf("bound: serial: %w", err)
	}
	w.template.SerialNumber = serial.Add(serial, big.NewInt(1))
	_, err = x509.CreateCertificate(rand.Reader, w.template, w.caCert, w.csr.PublicKey,
		w.caKey)
	if err != nil {
		return fmt.Errorf("bound: create certificate: %w", err)
	}
	return nil
}

// newBoundWork makes a device, its evidence and CSR, a P-256 tenant CA and a
// device certificate template with an attestation result extension.
func newBoundWork() (*boundWork, error) {
	d, err := newDevice()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, evidence.NonceSize)
	ev, err := d.sign(nonce, time.Now())
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(ev)
	sig, err := ecdsa.SignASN1(rand.Reader, d.key, digest[:])
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(d.csr)
	if err != nil {
		return nil, err
	}

	caKey, caCert, err := newBoundCA()
	if err != nil {
		return nil, err
	}
	tmpl, err := deviceTemplate(d.id, digest)
	if err != nil {
		return nil, err
	}
	return &boundWork{idKey: &d.key.PublicKey, message: ev, sig: sig, csr: csr,
		caCert: caCert, caKey: caKey, template: tmpl}, nil
}

// newBoundCA returns a self-signed P-256 CA, in the place of a tenant CA.
func newBoundCA() (*ecdsa.PrivateKey, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject:   pkix.Name{Organization: []string{"Hallmark"}, CommonName: "loadgen bound CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}

// deviceTemplate is a device certificate as the PKI profile has it: CN the
// device ID, clientAuth, a CRL and an issuer URL, and the attestation result.
func deviceTemplate(id string, evidenceDigest [32]byte) (*x509.Certificate, error) {
	res := attestation.Result{Verdict: attestation.Affirming, AppraisedAt: time.Now(),
		EvidenceDigest: evidenceDigest, CatalogueVersion: 1}
	for _, c := range bootComponents {
		res.Components = append(res.Components, attestation.Component{Name: c.Name,
			Version: c.Version, Digest: c.Digest, Verdict: attestation.Affirming})
	}
	ext, err := res.Extension()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return &x509.Certificate{Subject: pkix.Name{CommonName: id},
		NotBefore: now.Add(-5 * time.Minute), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		CRLDistributionPoints: []string{"http://localhost:8080/pki/crl/tenant.crl"},
		IssuingCertificateURL: []string{"http://localhost:8080/pki/ca/tenant.crt"},
		ExtraExtensions:       []pkix.Extension{ext}}, nil
}
