// Package attestation reads and writes the attestation result that Hallmark
// puts into every device certificate.
//
// When the verifier appraises a device's evidence, the outcome travels with
// the certificate the CA issues: a non-critical X.509 extension with the
// object identifier [OID] (1.3.6.1.4.1.311.98.1) whose value is a DER-encoded
// AttestationResult. Relying parties, such as a hub, the provisioning service
// or users' own code, read it back with [FromCertificate] after they have
// verified the certificate chain. The issuer builds a [Result] and adds
// [Result.Extension] to the certificate template.
//
// # Verdicts
//
// The verdicts follow the vocabulary of the IETF RATS attestation results:
//
//   - affirming: the component, or the device, runs software the operator's
//     trusted software catalogue vouches for;
//   - warning: the software is trusted but superseded by a newer version;
//   - contraindicated: the software is unknown, revoked or older than the
//     minimum security version.
//
// Hallmark does not issue certificates to contraindicated devices, so a
// relying party normally sees only the first two. The overall verdict is the
// appraiser's decision and is not recomputed from the components here.
//
// # Encoding
//
// The extension value is the DER encoding of AttestationResult in this
// ASN.1 module:
//
//	HallmarkAttestation DEFINITIONS IMPLICIT TAGS ::= BEGIN
//
//	id-hallmark-attestationResult OBJECT IDENTIFIER ::=
//	    { 1 3 6 1 4 1 311 98 1 }
//
//	AttestationResult ::= SEQUENCE {
//	    version           INTEGER (1),
//	    verdict           Verdict,
//	    appraisedAt       GeneralizedTime,  -- UTC ("Z"), whole seconds
//	    evidenceDigest    OCTET STRING (SIZE (32)),  -- SHA-256 of the evidence
//	    catalogueVersion  INTEGER (0..9223372036854775807),
//	    components        SEQUENCE SIZE (0..256) OF Component }
//
//	Component ::= SEQUENCE {
//	    name     UTF8String (SIZE (1..MAX)),
//	    version  UTF8String,
//	    digest   OCTET STRING (SIZE (32)),  -- SHA-256 of the component
//	    verdict  Verdict }
//
//	Verdict ::= ENUMERATED { affirming(0), warning(1), contraindicated(2) }
//
//	END
//
// No field is optional and none carries a tag other than its universal one.
// The evidence digest is the SHA-256 of the evidence exactly as the device
// sent it (the encoded COSE_Sign1). The catalogue version identifies the
// trusted software catalogue that the appraisal used. Components appear in
// the order the device reported them.
//
// This package adds a few rules that ASN.1 cannot express, and enforces them
// on both [Result.Marshal] and [Parse]: the evidence digest is not all zeros,
// the appraisal time is not the zero [time.Time], names and versions are
// valid UTF-8 without control characters, and the whole encoding is at most
// [MaxSize] bytes.
//
// # Strictness
//
// [Parse] accepts DER only: an input must be exactly what [Result.Marshal]
// would write for the result it decodes to, so BER forms (indefinite or
// non-minimal lengths, padded integers, a time with an offset or fractional
// seconds, a string type other than UTF8String), trailing data and extra
// fields at the end of a SEQUENCE are all refused. A later version of the
// format will change the version number; this package refuses any version
// other than [Version] with an error matching [ErrUnsupportedVersion].
//
// # What it does not do
//
// The package does not verify certificates. [FromCertificate] reads the
// extension from whatever certificate it is given; the result is only as
// trustworthy as the chain that vouches for that certificate, so verify the
// chain (with [x509.Certificate.Verify] or a TLS handshake) first.
package attestation
