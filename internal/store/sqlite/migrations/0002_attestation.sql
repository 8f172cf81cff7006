-- Attestation: challenge nonces, the trusted software catalogue, the record
-- of each attested issuance, and each device's last attestation. Times are
-- Unix microseconds, 0 for none.

-- Nonces are found by value only, so the value is the table's key and its
-- rows are stored in the key's order, without a rowid.
CREATE TABLE nonces (
	value       BLOB PRIMARY KEY,
	device_id   TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	consumed_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX nonces_expiry ON nonces (expires_at);

CREATE TABLE catalogues (
	version    INTEGER PRIMARY KEY,
	document   BLOB NOT NULL,
	created_at INTEGER NOT NULL,
	token_id   TEXT NOT NULL
) STRICT;

CREATE TABLE issuances (
	seq               INTEGER PRIMARY KEY AUTOINCREMENT,
	issuer_id         TEXT NOT NULL,
	serial            BLOB NOT NULL,
	tenant_id         TEXT NOT NULL,
	device_id         TEXT NOT NULL,
	not_before        INTEGER NOT NULL,
	not_after         INTEGER NOT NULL,
	cert_digest       BLOB NOT NULL,
	evidence_digest   BLOB NOT NULL,
	verdict           TEXT NOT NULL,
	catalogue_version INTEGER NOT NULL,
	software          TEXT NOT NULL,
	created_at        INTEGER NOT NULL
) STRICT;

CREATE INDEX issuances_tenant ON issuances (tenant_id, seq);
CREATE INDEX issuances_device ON issuances (device_id, seq);

ALTER TABLE devices ADD COLUMN last_attested_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN last_verdict TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN last_software TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN cert_not_after INTEGER NOT NULL DEFAULT 0;
