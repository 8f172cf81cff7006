package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/hallmark-project/hallmark/attestation"
)

// DeviceLifetime is the default validity of a device certificate: a device
// attests again to renew it.
const DeviceLifetime = 24 * time.Hour

// MaxDeviceLifetime bounds a configured device certificate lifetime.
const MaxDeviceLifetime = 7 * 24 * time.Hour

// DeviceInfo is what a device certificate says about its device.
type DeviceInfo struct {
	DeviceID string // the subject CN: 128 lowercase hex characters
	// Result is the attestation result extension (1.3.6.1.4.1.311.98.1),
	// non-critical; package attestation makes it.
	Result pkix.Extension
	// Lifetime of the certificate after now; 0 means DeviceLifetime.
	Lifetime time.Duration
}

// CreateDevice returns a device certificate signed by the tenant CA ca, for
// pub, the key of the device's certificate request (ECDSA P-256 or P-384):
// subject CN = device ID, key usage digitalSignature, extended key usage
// clientAuth, valid from Backdate before now for the lifetime, cut to ca's
// notAfter, carrying the attestation result extension.
// It also returns the validity, so that the caller need not parse the
// certificate to learn it.
func CreateDevice(ca Issuer, pub crypto.PublicKey, serial *big.Int, d DeviceInfo,
	now time.Time) ([]byte, Validity, error) {
	der, v, err := createDevice(ca, pub, serial, d, now)
	if err != nil {
		return nil, Validity{}, fmt.Errorf("pki: create device certificate: %w", err)
	}
	return der, v, nil
}

func createDevice(ca Issuer, pub crypto.PublicKey, serial *big.Int, d DeviceInfo,
	now time.Time) ([]byte, Validity, error) {
	now, err := issuingTime(now)
	if err != nil {
		return nil, Validity{}, err
	}
	if err := checkKey("device certificate", pub, elliptic.P256(), elliptic.P384()); err != nil {
		return nil, Validity{}, err
	}
	if len(d.DeviceID) != 128 {
		return nil, Validity{}, errors.New("device ID must be 128 characters")
	}
	if !d.Result.Id.Equal(attestation.OID) || d.Result.Critical || len(d.Result.Value) == 0 {
		return nil, Validity{}, errors.New("attestation result extension must be the non-critical " +
			attestation.OID.String())
	}
	switch {
	case d.Lifetime < 0 || d.Lifetime > MaxDeviceLifetime:
		return nil, Validity{}, fmt.Errorf("device certificate lifetime %v is outside 0 to %v",
			d.Lifetime, MaxDeviceLifetime)
	case d.Lifetime == 0:
		d.Lifetime = DeviceLifetime
	}
	return issueValid(ca, elliptic.P256(), serial, now, profile{
		subject:  pkix.Name{CommonName: d.DeviceID},
		pub:      pub.(*ecdsa.PublicKey),
		notAfter: now.Add(d.Lifetime),
		keyUsage: x509.KeyUsageDigitalSignature,
		extUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		extra:    []pkix.Extension{d.Result},
	})
}
