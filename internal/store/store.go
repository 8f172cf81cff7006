// Package store defines Hallmark's persistent state and the interface that
// every storage backend implements.
//
// Two backends implement [Store]: SQLite, the embedded default (package
// store/sqlite), and PostgreSQL for replicated deployments (package
// store/postgres). Both pass the conformance suite in store/storetest.
//
// The store holds records and enforces the invariants that must survive
// concurrent replicas: unique serials per issuer, a device claimed by one
// tenant only, single-use tokens and nonces. It does not decide policy:
// callers pass in every timestamp, so tests control time, and callers check
// roles and tenancy before they call.
//
// Times are stored with microsecond precision, in UTC.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	// ErrNotFound means the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a uniqueness rule refused the write: a duplicate
	// name, serial, generation or CRL number, or a device another tenant
	// claimed.
	ErrConflict = errors.New("conflict")
	// ErrUnclaimed means a write for a tenant's device found the device no
	// longer claimed by that tenant.
	ErrUnclaimed = errors.New("device not claimed by the tenant")
	// ErrBlocked means the device that a nonce was to be spent for is
	// blocked.
	ErrBlocked = errors.New("device blocked")
)

// Store is a storage backend.
type Store interface {
	Queries

	// Tx runs fn in one transaction. If fn returns an error the transaction
	// rolls back and Tx returns that error; otherwise it commits. The
	// Queries passed to fn must not be used after fn returns.
	Tx(ctx context.Context, fn func(q Queries) error) error

	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	// Close releases the database.
	Close() error
}

// Queries are the reads and writes on the store, available directly on a
// Store (each its own transaction) and inside Store.Tx.
type Queries interface {
	// Meta is a small key-value table for installation-wide settings, such
	// as the key-encryption key's check value.
	GetMeta(ctx context.Context, key string) (string, error)
	// PutMeta sets key, or fails with ErrConflict if key is set already.
	PutMeta(ctx context.Context, key, value string) error

	CreateTenant(ctx context.Context, t Tenant) error // ErrConflict: ID or name taken
	GetTenant(ctx context.Context, id string) (Tenant, error)
	ListTenants(ctx context.Context) ([]Tenant, error) // by name

	PutKey(ctx context.Context, k Key) error // ErrConflict: ID taken
	GetKey(ctx context.Context, id string) (Key, error)

	// PutCA records a CA certificate. ErrConflict: ID taken, or a CA of the
	// same kind and tenant with the same generation exists.
	PutCA(ctx context.Context, ca CA) error
	GetCA(ctx context.Context, id string) (CA, error)
	// ListCAs returns the CAs of a kind (and tenant, for KindTenant; "" for
	// the others) by generation, oldest first.
	ListCAs(ctx context.Context, kind CAKind, tenantID string) ([]CA, error)
	RevokeCA(ctx context.Context, id string, at time.Time) error // ErrNotFound

	// PutCert records an issued certificate. ErrConflict: the serial is
	// taken for that issuer.
	PutCert(ctx context.Context, c Cert) error
	GetCert(ctx context.Context, issuerID string, serial []byte) (Cert, error)
	// ListRevokedCerts returns the certificates of an issuer that are
	// revoked and whose NotAfter is after now, by serial.
	ListRevokedCerts(ctx context.Context, issuerID string, now time.Time) ([]Cert, error)
	// RevokeDeviceCerts revokes every unrevoked certificate of the device
	// whose NotAfter is after at, and returns how many it revoked. It finds
	// them through the device's issuances: a device certificate recorded
	// without one (PutCert alone) is not revoked.
	RevokeDeviceCerts(ctx context.Context, deviceID string, at time.Time) (int, error)

	// RegisterDevices adds device IDs registered at the given time. IDs
	// already registered are left as they are. It returns how many were new.
	RegisterDevices(ctx context.Context, ids []string, at time.Time) (int, error)
	GetDevice(ctx context.Context, id string) (Device, error)
	// SetDeviceBlocked blocks or unblocks a device. ErrNotFound.
	SetDeviceBlocked(ctx context.Context, id string, blocked bool, at time.Time) error
	// ClaimDevice binds a registered device to a tenant. It returns true if
	// this call claimed it, false if the tenant already had it; ErrNotFound
	// if the device is not registered; ErrConflict if another tenant has it.
	ClaimDevice(ctx context.Context, id, tenantID string, at time.Time) (bool, error)
	// ListDevices returns devices by ID, after f.After, at most f.Limit.
	ListDevices(ctx context.Context, f DeviceFilter) ([]Device, error)

	PutToken(ctx context.Context, t Token) error // ErrConflict: ID or hash taken
	GetTokenByHash(ctx context.Context, hash []byte) (Token, error)
	GetToken(ctx context.Context, id string) (Token, error)
	// ListTokens returns tokens by creation time; tenantID "" lists all.
	ListTokens(ctx context.Context, tenantID string) ([]Token, error)
	// RevokeToken sets RevokedAt unless it is set already. ErrNotFound.
	RevokeToken(ctx context.Context, id string, at time.Time) error

	// AppendAudit adds an entry; the store assigns Seq.
	AppendAudit(ctx context.Context, e AuditEntry) error
	// ListAudit returns entries newest first, with Seq below f.Before (0:
	// no bound), at most f.Limit.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error)

	// PutCRL records a CRL. ErrConflict: that number exists for the issuer.
	PutCRL(ctx context.Context, c CRL) error
	// LatestCRL returns the issuer's CRL with the highest number.
	LatestCRL(ctx context.Context, issuerID string) (CRL, error)

	// PutNonce records a challenge nonce for a device that is registered
	// and not blocked, as one write that checks the device. ErrNotFound: no
	// such device, or it is blocked. ErrConflict: the value exists.
	PutNonce(ctx context.Context, n Nonce) error
	// ConsumeNonce marks the nonce used, atomically, if it exists, belongs to
	// deviceID, is unused and expires after now, and the device is not
	// blocked; it returns the nonce as it was before. ErrBlocked: the device
	// is blocked, whatever the nonce; nothing was changed. ErrNotFound: no
	// such nonce. ErrConflict: the nonce exists but cannot be consumed
	// (used, expired or another device's); the returned record tells which,
	// and nothing was changed.
	ConsumeNonce(ctx context.Context, value []byte, deviceID string, now time.Time) (Nonce,
		error)
	// DeleteNonces removes nonces that expired before the time, and returns
	// how many it removed.
	DeleteNonces(ctx context.Context, expiredBefore time.Time) (int, error)

	// PutCatalogue records a version of the trusted software catalogue.
	// ErrConflict: the version exists.
	PutCatalogue(ctx context.Context, c Catalogue) error
	// LatestCatalogue returns the catalogue with the highest version.
	LatestCatalogue(ctx context.Context) (Catalogue, error)

	// RecordAttestation is an attestation's one write. It spends a's nonce
	// as ConsumeNonce does, and returns ConsumeNonce's answer when it cannot.
	// With the nonce spent, if a carries a certificate, it also records
	// a.Cert and a.Issuance as PutCert and PutIssuance do. It is atomic: on
	// any error but ErrUnclaimed and ErrBlocked it writes nothing.
	// ErrUnclaimed: the device is no longer claimed by the issuance's
	// tenant; the nonce is spent and nothing else is written. ErrBlocked:
	// the device is blocked; nothing is written, unless (on PostgreSQL) it
	// was blocked while this write ran, when the nonce alone is spent.
	RecordAttestation(ctx context.Context, a Attestation) (Nonce, error)

	// PutIssuance records an issued device certificate's attestation, which
	// is then the device's last. ErrNotFound: no such device, or not the
	// issuance's tenant's.
	PutIssuance(ctx context.Context, i Issuance) error
	// ListIssuances returns issuances newest first, with Seq below f.Before
	// (0: no bound), of f.TenantID and f.DeviceID where set, at most f.Limit.
	ListIssuances(ctx context.Context, f IssuanceFilter) ([]Issuance, error)
}

// Nonce is a single-use attestation challenge.
type Nonce struct {
	Value      []byte
	DeviceID   string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	ConsumedAt time.Time // zero while unused
}

// Attestation is what an attestation writes: the nonce it spends and, when
// the attestation is accepted, the certificate issued and its issuance.
type Attestation struct {
	Nonce    []byte
	DeviceID string
	At       time.Time // when the nonce is spent
	// Cert and Issuance are both set for an accepted attestation, and both
	// nil for a refused one, which only spends the nonce.
	Cert     *Cert
	Issuance *Issuance
}

// Catalogue is one published version of the trusted software catalogue.
// Document is the catalogue as JSON; package catalogue gives it meaning.
type Catalogue struct {
	Version   int64
	Document  []byte
	CreatedAt time.Time
	TokenID   string // who published it
}

// Issuance records a device certificate and the attestation behind it.
type Issuance struct {
	Seq              int64 // assigned by the store
	IssuerID         string
	Serial           []byte
	TenantID         string
	DeviceID         string
	NotBefore        time.Time
	NotAfter         time.Time
	CertDigest       []byte // SHA-256 of the certificate DER
	EvidenceDigest   []byte // SHA-256 of the evidence
	Verdict          string // "affirming" or "warning"
	CatalogueVersion int64
	Software         string // JSON: the measured components
	CreatedAt        time.Time
}

// IssuanceFilter selects issuances for ListIssuances.
type IssuanceFilter struct {
	TenantID string
	DeviceID string
	Before   int64 // Seq bound; 0: newest
	Limit    int   // 0 means 100
}

// Tenant is a group of devices and an isolation boundary.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// Key is a CA private key in custody of a key backend. Ref is what that
// backend needs to find or unseal the key: for the sealed backend the
// encrypted key, for PKCS#11 the object ID. It is never the plain key.
type Key struct {
	ID        string
	Backend   string
	Ref       []byte
	Public    []byte // PKIX DER
	CreatedAt time.Time
}

// CAKind tells the place of a CA in the hierarchy.
type CAKind string

// The kinds of CA.
const (
	KindRoot         CAKind = "root"
	KindIntermediate CAKind = "intermediate"
	KindTenant       CAKind = "tenant"
)

// CA is a CA certificate and the key that signs with it.
type CA struct {
	ID         string
	Kind       CAKind
	TenantID   string // for KindTenant, else ""
	Generation int    // 1 for the first CA of its kind and tenant
	KeyID      string
	CertDER    []byte
	NotBefore  time.Time
	NotAfter   time.Time
	ActiveFrom time.Time // when it starts to sign; NotBefore unless a rollover
	RevokedAt  time.Time // zero if not revoked
	CreatedAt  time.Time
}

// Cert kinds.
const (
	CertDevice = "device"
	CertProof  = "proof"
	CertCA     = "ca"
)

// Cert is a certificate a Hallmark CA issued.
type Cert struct {
	IssuerID  string
	Serial    []byte // big-endian, no leading zeros
	Kind      string // CertDevice, CertProof or CertCA
	Subject   string // the subject CN
	DeviceID  string // for CertDevice, else ""
	TenantID  string // "" for certificates the root or intermediate issued
	NotBefore time.Time
	NotAfter  time.Time
	CertDER   []byte
	RevokedAt time.Time // zero if not revoked
	CreatedAt time.Time
}

// Device is a registered device.
type Device struct {
	ID           string
	RegisteredAt time.Time
	Blocked      bool
	BlockedAt    time.Time // when last blocked or unblocked; zero if never
	TenantID     string    // "" until claimed
	ClaimedAt    time.Time

	// The last successful attestation: the newest of the device's
	// issuances (highest Seq); zero before the first.
	LastAttestedAt time.Time
	LastVerdict    string
	LastSoftware   string    // JSON: the measured components
	CertNotAfter   time.Time // expiry of the last issued certificate
}

// DeviceFilter selects devices for ListDevices.
type DeviceFilter struct {
	TenantID string // "" for every tenant and unclaimed devices
	After    string // device ID to start after; "" from the start
	Limit    int    // at most this many; 0 means 1000
}

// Role is what a token may do.
type Role string

// The roles.
const (
	RoleOperator     Role = "operator"
	RoleManufacturer Role = "manufacturer"
	RoleTenantAdmin  Role = "tenant-admin"
	RoleTenantReader Role = "tenant-reader"
)

// Token is an API bearer token. Only its SHA-256 hash is stored.
type Token struct {
	ID        string
	Hash      []byte
	Role      Role
	TenantID  string // for tenant roles, else ""
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time // zero: not revoked
}

// AuditEntry records one change made through the admin API.
type AuditEntry struct {
	Seq       int64
	At        time.Time
	TokenID   string // who
	Role      Role
	TenantID  string // the actor's tenant, if any
	Action    string // what, e.g. "device.claim"
	Target    string // the object acted on
	Result    string // "ok" or an error code
	RequestID string
	Detail    string // JSON, optional
}

// AuditFilter selects entries for ListAudit.
type AuditFilter struct {
	Before int64 // Seq bound; 0: newest
	Limit  int   // 0 means 100
}

// CRL is a certificate revocation list a CA signed.
type CRL struct {
	IssuerID   string
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
	DER        []byte
}
