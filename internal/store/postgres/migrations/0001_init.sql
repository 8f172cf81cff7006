-- Hallmark's first schema. Times are Unix microseconds, 0 for none. IDs and
-- names that are listed in order sort by bytes (COLLATE "C"), as in SQLite.

CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);

CREATE TABLE ca_keys (
	id         TEXT PRIMARY KEY,
	backend    TEXT NOT NULL,
	ref        BYTEA NOT NULL,
	public     BYTEA NOT NULL,
	created_at BIGINT NOT NULL
);

-- tenant_id is '' for root and intermediate CAs, so that the unique key
-- holds for them too.
CREATE TABLE cas (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	tenant_id   TEXT NOT NULL,
	generation  BIGINT NOT NULL,
	key_id      TEXT NOT NULL,
	cert_der    BYTEA NOT NULL,
	not_before  BIGINT NOT NULL,
	not_after   BIGINT NOT NULL,
	active_from BIGINT NOT NULL,
	revoked_at  BIGINT NOT NULL,
	created_at  BIGINT NOT NULL,
	UNIQUE (kind, tenant_id, generation)
);

CREATE TABLE certs (
	issuer_id  TEXT NOT NULL,
	serial     BYTEA NOT NULL,
	kind       TEXT NOT NULL,
	subject    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	not_before BIGINT NOT NULL,
	not_after  BIGINT NOT NULL,
	cert_der   BYTEA NOT NULL,
	revoked_at BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (issuer_id, serial)
);

CREATE INDEX certs_device ON certs (device_id);

-- tenant_id is '' until the device is claimed.
CREATE TABLE devices (
	id            TEXT COLLATE "C" PRIMARY KEY,
	registered_at BIGINT NOT NULL,
	blocked       BOOLEAN NOT NULL DEFAULT FALSE,
	blocked_at    BIGINT NOT NULL DEFAULT 0,
	tenant_id     TEXT NOT NULL DEFAULT '',
	claimed_at    BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX devices_tenant ON devices (tenant_id, id);

CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	hash       BYTEA NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	name       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL
);

CREATE INDEX tokens_tenant ON tokens (tenant_id, created_at);

CREATE TABLE audit_log (
	seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at         BIGINT NOT NULL,
	token_id   TEXT NOT NULL,
	role       TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	action     TEXT NOT NULL,
	target     TEXT NOT NULL,
	result     TEXT NOT NULL,
	request_id TEXT NOT NULL,
	detail     TEXT NOT NULL
);

CREATE TABLE crls (
	issuer_id   TEXT NOT NULL,
	number      BIGINT NOT NULL,
	this_update BIGINT NOT NULL,
	next_update BIGINT NOT NULL,
	der         BYTEA NOT NULL,
	PRIMARY KEY (issuer_id, number)
);
