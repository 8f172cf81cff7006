package agent

import (
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"

	"github.com/hallmark-project/hallmark/deviceid"
)

// RootOfTrust holds the device identity key and signs with it. Public must
// return an ECDSA P-256 *ecdsa.PublicKey, and Sign must accept a SHA-256
// digest with crypto.SHA256 as options and return an ASN.1 ECDSA signature,
// as *ecdsa.PrivateKey does; a TPM or a secure element can do both without
// exporting the key.
type RootOfTrust interface {
	crypto.Signer
}

// DeviceID returns the ID of the device whose identity key rot holds.
func DeviceID(rot RootOfTrust) (deviceid.ID, error) {
	if rot == nil {
		return deviceid.ID{}, errors.New("agent: no root of trust")
	}
	pub, ok := rot.Public().(*ecdsa.PublicKey)
	if !ok {
		return deviceid.ID{}, fmt.Errorf("agent: identity key is %T, not ECDSA P-256",
			rot.Public())
	}
	id, err := deviceid.FromPublicKey(pub)
	if err != nil {
		return deviceid.ID{}, fmt.Errorf("agent: %w", err)
	}
	return id, nil
}
