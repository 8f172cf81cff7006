package attestation_test

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
)

// A relying party reads the attestation result from a device certificate.
// In a real hub or service the certificate comes from a TLS handshake whose
// chain has been verified; this example reads a fixture from a file.
func ExampleFromCertificate() {
	data, err := os.ReadFile("testdata/device-cert.pem")
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		log.Fatal("no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}

	res, err := attestation.FromCertificate(cert)
	switch {
	case errors.Is(err, attestation.ErrNotPresent):
		fmt.Println("certificate carries no attestation result")
		return
	case err != nil:
		fmt.Println(err)
		return
	}

	fmt.Printf("%s at %s, catalogue %d\n",
		res.Verdict, res.AppraisedAt.Format(time.RFC3339), res.CatalogueVersion)
	for _, c := range res.Components {
		fmt.Printf("%-10s %-9s %x… %s\n", c.Name, c.Version, c.Digest[:4], c.Verdict)
	}
	// Output:
	// warning at 2025-03-14T09:30:00Z, catalogue 42
	// bootloader 1.4.2     3b4a1288… affirming
	// kernel     6.1.0-hm3 6923dd1b… warning
	// rootfs     2025.03   3c47ef97… affirming
}

// The issuer turns an appraisal into an extension for the certificate
// template it passes to x509.CreateCertificate.
func ExampleResult_Extension() {
	evidence := []byte("the COSE_Sign1 evidence, exactly as the device sent it")
	res := attestation.Result{
		Verdict:          attestation.Affirming,
		AppraisedAt:      time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC),
		EvidenceDigest:   sha256.Sum256(evidence),
		CatalogueVersion: 7,
		Components: []attestation.Component{{
			Name:    "bootloader",
			Version: "1.4.2",
			Digest:  sha256.Sum256([]byte("bootloader image")),
			Verdict: attestation.Affirming,
		}},
	}
	ext, err := res.Extension()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ext.Id, "critical:", ext.Critical)

	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "the device ID"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	template.ExtraExtensions = append(template.ExtraExtensions, ext)
	// Output:
	// 1.3.6.1.4.1.311.98.1 critical: false
}
