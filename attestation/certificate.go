package attestation

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
)

// OID identifies the attestation result extension.
var OID = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 98, 1}

// oid returns a copy of OID that callers cannot have changed.
func oid() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 98, 1}
}

// Extension returns r as a non-critical certificate extension, ready for the
// ExtraExtensions of an [x509.Certificate] template.
func (r Result) Extension() (pkix.Extension, error) {
	der, err := r.Marshal()
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oid(), Critical: false, Value: der}, nil
}

// FromCertificate returns the attestation result that c carries. It looks in
// c.Extensions, which [x509.ParseCertificate] fills, and does not verify c.
//
// It returns [ErrNotPresent] if c has no such extension. A [*ParseError]
// reports an extension that is present but unusable: a malformed value, an
// extension marked critical (Hallmark never marks it so, and a verifier
// would have refused the certificate), or the extension more than once.
func FromCertificate(c *x509.Certificate) (Result, error) {
	if c == nil {
		return Result{}, errors.New("attestation: nil certificate")
	}
	var found *pkix.Extension
	for i, ext := range c.Extensions {
		if !ext.Id.Equal(oid()) {
			continue
		}
		if found != nil {
			return Result{}, &ParseError{Err: fmt.Errorf("extension %v appears twice", oid())}
		}
		found = &c.Extensions[i]
	}

	if found == nil {
		return Result{}, ErrNotPresent
	}
	if found.Critical {
		return Result{}, &ParseError{Err: fmt.Errorf("extension %v is marked critical", oid())}
	}
	return Parse(found.Value)
}
