package pki

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// CreateCRL returns a CRL signed by issuer, which must be one of Hallmark's
// CAs (ECDSA P-256 or P-384, with the cRLSign usage): CRL number number,
// thisUpdate now, nextUpdate next, listing the revoked entries. Each entry
// needs a valid serial and a revocation time; a reason code is optional.
// Times are recorded in UTC to the second.
func CreateCRL(issuer Issuer, number int64, revoked []x509.RevocationListEntry,
	now, next time.Time) ([]byte, error) {
	der, err := createCRL(issuer, number, revoked, now, next)
	if err != nil {
		return nil, fmt.Errorf("pki: create CRL: %w", err)
	}
	return der, nil
}

func createCRL(issuer Issuer, number int64, revoked []x509.RevocationListEntry,
	now, next time.Time) ([]byte, error) {
	now, err := issuingTime(now)
	if err != nil {
		return nil, err
	}
	if next.IsZero() {
		return nil, errors.New("next update is zero")
	}
	next = next.UTC().Truncate(time.Second)
	if !next.After(now) {
		return nil, fmt.Errorf("next update %s is not after this update %s",
			next.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if number < 0 {
		return nil, fmt.Errorf("CRL number %d is negative", number)
	}
	err = checkIssuer(issuer, x509.KeyUsageCRLSign, elliptic.P256(), elliptic.P384())
	if err != nil {
		return nil, err
	}

	entries := make([]x509.RevocationListEntry, len(revoked))
	for i, e := range revoked {
		if err := checkSerial(e.SerialNumber); err != nil {
			return nil, fmt.Errorf("revoked entry %d: %w", i, err)
		}
		if e.RevocationTime.IsZero() {
			return nil, fmt.Errorf("revoked entry %d: revocation time is zero", i)
		}
		e.RevocationTime = e.RevocationTime.UTC().Truncate(time.Second)
		entries[i] = e
	}

	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(number),
		ThisUpdate:                now,
		NextUpdate:                next,
		RevokedCertificateEntries: entries,
	}, issuer.Cert, issuer.Signer)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return der, nil
}
