package devicecmd

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
)

// keyUsages names the key usage bits in the order of RFC 5280.
var keyUsages = []struct {
	bit  x509.KeyUsage
	name string
}{
	{x509.KeyUsageDigitalSignature, "digitalSignature"},
	{x509.KeyUsageContentCommitment, "contentCommitment"},
	{x509.KeyUsageKeyEncipherment, "keyEncipherment"},
	{x509.KeyUsageDataEncipherment, "dataEncipherment"},
	{x509.KeyUsageKeyAgreement, "keyAgreement"},
	{x509.KeyUsageCertSign, "keyCertSign"},
	{x509.KeyUsageCRLSign, "cRLSign"},
	{x509.KeyUsageEncipherOnly, "encipherOnly"},
	{x509.KeyUsageDecipherOnly, "decipherOnly"},
}

var extKeyUsages = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:             "any",
	x509.ExtKeyUsageServerAuth:      "serverAuth",
	x509.ExtKeyUsageClientAuth:      "clientAuth",
	x509.ExtKeyUsageCodeSigning:     "codeSigning",
	x509.ExtKeyUsageEmailProtection: "emailProtection",
	x509.ExtKeyUsageTimeStamping:    "timeStamping",
	x509.ExtKeyUsageOCSPSigning:     "OCSPSigning",
}

func keyUsageNames(ku x509.KeyUsage) []string {
	names := []string{}
	for _, u := range keyUsages {
		if ku&u.bit != 0 {
			names = append(names, u.name)
		}
	}
	return names
}

// extKeyUsageNames names the extended key usages; one that crypto/x509 does
// not know shows as its OID.
func extKeyUsageNames(cert *x509.Certificate) []string {
	names := []string{}
	for _, u := range cert.ExtKeyUsage {
		name, ok := extKeyUsages[u]
		if !ok {
			name = fmt.Sprintf("extKeyUsage(%d)", int(u))
		}
		names = append(names, name)
	}
	for _, oid := range cert.UnknownExtKeyUsage {
		names = append(names, asn1.ObjectIdentifier(oid).String())
	}
	return names
}
