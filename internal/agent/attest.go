package agent

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
	"github.com/hallmark-project/hallmark/deviceid"
	"github.com/hallmark-project/hallmark/internal/daa/wire"
	"github.com/hallmark-project/hallmark/internal/evidence"
)

// Credentials are what an attestation earns: a fresh key and the device
// certificate for it, with the chain up to the intermediate.
type Credentials struct {
	Key         *ecdsa.PrivateKey
	Certificate *x509.Certificate
	Chain       []*x509.Certificate // the tenant CA, then the intermediate
	// RenewAt is when to attest again: the DAA's time, or two thirds into
	// the certificate's validity if the DAA named none before NotAfter.
	RenewAt  time.Time
	NotAfter time.Time // the certificate's
	Verdict  string    // "affirming" or "warning", from the certificate
	// Result is the attestation result that the certificate carries.
	Result attestation.Result
}

// Attest runs one DAA exchange for the device whose identity key rot holds,
// reporting boot as its measured components. It generates a new P-256 key
// for the certificate and checks that the certificate the DAA returns is
// for that key and that device, is signed by the first certificate of the
// chain, and carries an attestation result. A DAA answer other than success
// is a [*RefusedError]; a failure to reach the DAA is returned as it is.
func (c *Client) Attest(ctx context.Context, rot RootOfTrust,
	boot []evidence.Component) (*Credentials, error) {
	id, err := DeviceID(rot)
	if err != nil {
		return nil, err
	}
	var ch wire.ChallengeResponse
	err = c.post(ctx, "challenge", wire.ChallengesPath,
		wire.ChallengeRequest{DeviceID: id.String()}, &ch)
	if err != nil {
		return nil, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("agent: generate certificate key: %w", err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: id.String()}}, key)
	if err != nil {
		return nil, fmt.Errorf("agent: create certificate request: %w", err)
	}
	ev, err := signEvidence(rot, ch.Nonce, boot, key)
	if err != nil {
		return nil, err
	}

	var ans wire.AttestationResponse
	err = c.post(ctx, "attestation", wire.AttestationsPath,
		wire.AttestationRequest{Evidence: ev, CSR: csr}, &ans)
	if err != nil {
		return nil, err
	}
	creds, err := newCredentials(key, id, &ans)
	if err != nil {
		return nil, fmt.Errorf("agent: attestation answer: %w", err)
	}
	return creds, nil
}

// signEvidence signs the claims of one attestation with the identity key.
func signEvidence(rot RootOfTrust, nonce []byte, boot []evidence.Component,
	key *ecdsa.PrivateKey) ([]byte, error) {
	binding, err := evidence.KeyBindingOf(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	ev, err := evidence.Sign(rot, evidence.Claims{
		Nonce:      nonce,
		IssuedAt:   time.Now(),
		Components: boot,
		KeyBinding: binding,
	})
	if err != nil {
		return nil, fmt.Errorf("agent: sign evidence: %w", err)
	}
	return ev, nil
}

// newCredentials checks the DAA's answer against the request it answers.
func newCredentials(key *ecdsa.PrivateKey, id deviceid.ID,
	ans *wire.AttestationResponse) (*Credentials, error) {
	certs, err := parseCertificates(ans.Certificate)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("certificate: %d certificates, want 1", len(certs))
	}
	chain, err := parseCertificates(ans.Chain)
	if err != nil {
		return nil, fmt.Errorf("chain: %w", err)
	}
	if len(chain) == 0 {
		return nil, errors.New("chain is empty")
	}

	cert := certs[0]
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("the certificate is not for the requested key")
	}
	if cert.Subject.CommonName != id.String() {
		return nil, errors.New("the certificate's common name is not the device ID")
	}
	if err := cert.CheckSignatureFrom(chain[0]); err != nil {
		return nil, fmt.Errorf("the certificate is not signed by the chain's first: %w", err)
	}
	res, err := attestation.FromCertificate(cert)
	if err != nil {
		return nil, err
	}

	return &Credentials{
		Key:         key,
		Certificate: cert,
		Chain:       chain,
		RenewAt:     renewAt(ans.RenewAt, cert),
		NotAfter:    cert.NotAfter,
		Verdict:     res.Verdict.String(),
		Result:      res,
	}, nil
}

// renewAt returns the DAA's renewal time if it falls within the
// certificate's validity, or else the time two thirds into it.
func renewAt(asked time.Time, cert *x509.Certificate) time.Time {
	if asked.After(cert.NotBefore) && asked.Before(cert.NotAfter) {
		return asked
	}
	return cert.NotBefore.Add(cert.NotAfter.Sub(cert.NotBefore) * 2 / 3)
}

// parseCertificates decodes PEM text that holds only certificates.
func parseCertificates(text string) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %q, want CERTIFICATE", block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, cert)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("data that is not PEM")
	}
	return certs, nil
}
