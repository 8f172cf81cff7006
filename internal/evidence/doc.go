// Package evidence encodes, decodes and checks the attestation evidence that a
// Hallmark device sends to the DAA.
//
// Evidence is a tagged COSE_Sign1 message (RFC 9052) signed with ES256 by the
// device identity key. Its payload is an Entity Attestation Token claims set
// (RFC 9711): a CBOR map with integer keys. The device ID, the 64-byte X‖Y of
// the identity public key, is longer than a UEID may be, so it travels as the
// kid of the protected header, and the ueid claim carries a digest of it.
//
// # Wire format
//
//	COSE_Sign1_Tagged = #6.18([
//	    protected:   bstr .cbor {1: -7, 4: device ID (64 bytes)},
//	    unprotected: {},
//	    payload:     bstr .cbor claims,
//	    signature:   bstr (64 bytes, r ‖ s),
//	])
//
// The claims set holds these claims; all are required:
//
//	| key    | name        | type                   | content                               |
//	| ------ | ----------- | ---------------------- | ------------------------------------- |
//	| 10     | eat_nonce   | bstr, 32 bytes         | the challenge nonce from the DAA      |
//	| 6      | iat         | uint                   | issued-at, seconds since the epoch    |
//	| 256    | ueid        | bstr, 33 bytes         | 0x01 (RAND) ‖ SHA-256(device ID)      |
//	| -70001 | components  | array of 1 to 64 maps  | measured boot stages, in boot order   |
//	| -70002 | key_binding | bstr, 32 bytes         | SHA-256 of the certified key's SPKI   |
//
// Keys 6, 10 and 256 are the IANA CWT claim keys. Keys -70001 and -70002 are
// Hallmark's own, taken from the private-use range of the CWT claims registry
// (below -65536). Each entry of components is a map:
//
//	| key | name    | type                  | content                             |
//	| --- | ------- | --------------------- | ----------------------------------- |
//	| 1   | name    | tstr, 1 to 128 bytes  | the boot stage, unique in the list  |
//	| 2   | version | tstr, 1 to 128 bytes  | its version                         |
//	| 3   | digest  | bstr, 32 bytes        | SHA-256 of its image                |
//	| 4   | svn     | uint                  | its security version number         |
//
// Text may not hold control characters. key_binding is the SHA-256 of the DER
// SubjectPublicKeyInfo of the public key in the device's certificate request
// (see [KeyBindingOf]); it ties that request to this attestation. Unknown
// claims and unknown component keys are ignored, so devices can send more than
// this package reads.
//
// # Strictness
//
// [Parse] accepts at most [MaxSize] bytes. It rejects trailing bytes,
// indefinite-length items, duplicate map keys at any depth, CBOR tags inside
// the payload, payloads nested deeper than 16 levels or with more than 1024
// items in one array or map, detached payloads, the crit header, and a header
// parameter that is both protected and unprotected. Every failure is an
// [*Error] whose Code is a stable string the DAA returns to the device.
//
// # What it does not do
//
// The package checks the form of the evidence and its signature, nothing
// else: whether the nonce is fresh, whether iat is plausible, whether the
// device is registered and whether the measurements are trusted are for the
// verifier to decide. It signs only with ES256 and a P-256 identity key.
package evidence
