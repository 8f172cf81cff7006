// Package agent is the device side of Hallmark: it holds the device identity
// key, reports the measured boot, attests to a DAA and keeps the device's
// certificate fresh.
//
// # Root of trust
//
// A [RootOfTrust] signs with the device identity key, which never leaves it.
// The one backend here is a simulator: a PKCS#8 key file made by
// [CreateKeyFile] and read by [LoadKeyFile]. A TPM 2.0 backend is planned and
// would satisfy the same interface.
//
// # Measured boot
//
// [LoadManifest] reads the boot components that the simulated device ran
// from a JSON manifest. A component names its SHA-256 digest or a file whose
// digest is measured on each read, so a test boots tampered software by
// changing a file:
//
//	{"components": [
//	  {"name": "loader", "version": "1.1", "svn": 2, "digest": "<64 hex>"},
//	  {"name": "kernel", "version": "6.1", "svn": 7, "file": "kernel.img"}
//	]}
//
// # Attestation and renewal
//
// [Client.Attest] runs the DAA exchange once (package daa/wire): a challenge,
// then evidence signed by the root of trust together with a certificate
// request for a fresh key. It checks that the certificate it gets back is for
// that key and that device. [WriteCredentials] stores the key, certificate
// and chain in a directory without ever showing a mix of two sets, and [Run]
// keeps doing both: it renews at the time the DAA names and backs off after
// failures.
//
// The package prints nothing; [Run] reports through a [*slog.Logger] it is
// given. It does not speak to hubs or to the provisioning service.
package agent
