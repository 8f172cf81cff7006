-- Attestation: challenge nonces, the trusted software catalogue, the record
-- of each attested issuance, and each device's last attestation. Times are
-- Unix microseconds, 0 for none.

-- Each nonce is written twice, put and consumed. The free space that the
-- fill factor leaves lets the second write stay on the row's page, without
-- new index entries (a HOT update: consumed_at is in no index).
CREATE TABLE nonces (
	value       BYTEA PRIMARY KEY,
	device_id   TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	consumed_at BIGINT NOT NULL
) WITH (fillfactor = 80);

CREATE INDEX nonces_expiry ON nonces (expires_at);

CREATE TABLE catalogues (
	version    BIGINT PRIMARY KEY,
	document   BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	token_id   TEXT NOT NULL
);

CREATE TABLE issuances (
	seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	issuer_id         TEXT NOT NULL,
	serial            BYTEA NOT NULL,
	tenant_id         TEXT NOT NULL,
	device_id         TEXT NOT NULL,
	not_before        BIGINT NOT NULL,
	not_after         BIGINT NOT NULL,
	cert_digest       BYTEA NOT NULL,
	evidence_digest   BYTEA NOT NULL,
	verdict           TEXT NOT NULL,
	catalogue_version BIGINT NOT NULL,
	software          TEXT NOT NULL,
	created_at        BIGINT NOT NULL
);

CREATE INDEX issuances_tenant ON issuances (tenant_id, seq);
CREATE INDEX issuances_device ON issuances (device_id, seq);

-- A constant default adds the columns without rewriting the table.
ALTER TABLE devices
	ADD COLUMN last_attested_at BIGINT NOT NULL DEFAULT 0,
	ADD COLUMN last_verdict     TEXT NOT NULL DEFAULT '',
	ADD COLUMN last_software    TEXT NOT NULL DEFAULT '',
	ADD COLUMN cert_not_after   BIGINT NOT NULL DEFAULT 0;
