package pki

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
)

// EncodePEM returns the certificates as consecutive PEM CERTIFICATE blocks, in
// the order given.
func EncodePEM(ders ...[]byte) []byte {
	var out []byte
	for _, der := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return out
}

// Thumbprint returns the lowercase hexadecimal SHA-256 of a certificate's DER.
func Thumbprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Object identifiers of PKCS#7 content types (RFC 5652 section 5.1 and 4).
var (
	oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
)

// contentInfo is the outer PKCS#7 structure (RFC 5652 section 3).
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT SignedData
}

// signedData is the SignedData of RFC 5652 section 5.1, reduced to what a
// certificate bundle needs: no digest algorithms, no content, no signers.
type signedData struct {
	Version          int
	DigestAlgorithms asn1.RawValue // empty SET
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue // [0] IMPLICIT, the certificates in order
	SignerInfos      asn1.RawValue // empty SET
}

// encapContentInfo is EncapsulatedContentInfo with the content left out.
type encapContentInfo struct {
	ContentType asn1.ObjectIdentifier
}

// EncodePKCS7 returns the certificates as a degenerate PKCS#7 SignedData in
// DER (a .p7b file): certificates only, in the order given, with no content
// and no signers. It fails if ders is empty or holds something other than a
// certificate.
//
// The certificates keep the order given instead of the sorted order of a DER
// SET OF, as OpenSSL writes them too, so that readers list the chain in order.
func EncodePKCS7(ders ...[]byte) ([]byte, error) {
	if len(ders) == 0 {
		return nil, errors.New("pki: encode PKCS#7: no certificates")
	}
	var certs []byte
	for i, der := range ders {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("pki: encode PKCS#7: certificate %d: %w", i, err)
		}
		certs = append(certs, der...)
	}

	emptySet := asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true}
	sd, err := asn1.Marshal(signedData{
		Version:          1,
		DigestAlgorithms: emptySet,
		EncapContentInfo: encapContentInfo{ContentType: oidData},
		Certificates: asn1.RawValue{
			Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: certs,
		},
		SignerInfos: emptySet,
	})
	if err != nil {
		return nil, fmt.Errorf("pki: encode PKCS#7: %w", err)
	}

	out, err := asn1.Marshal(contentInfo{
		ContentType: oidSignedData,
		Content: asn1.RawValue{
			Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("pki: encode PKCS#7: %w", err)
	}
	return out, nil
}
