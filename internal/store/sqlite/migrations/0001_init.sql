-- Hallmark's first schema. Times are Unix microseconds, 0 for none.

CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE ca_keys (
	id         TEXT PRIMARY KEY,
	backend    TEXT NOT NULL,
	ref        BLOB NOT NULL,
	public     BLOB NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

-- tenant_id is '' for root and intermediate CAs, so that the unique key
-- holds for them too.
CREATE TABLE cas (
	id          TEXT PRIMARY KEY,
	kind        TEXT NOT NULL,
	tenant_id   TEXT NOT NULL,
	generation  INTEGER NOT NULL,
	key_id      TEXT NOT NULL,
	cert_der    BLOB NOT NULL,
	not_before  INTEGER NOT NULL,
	not_after   INTEGER NOT NULL,
	active_from INTEGER NOT NULL,
	revoked_at  INTEGER NOT NULL,
	created_at  INTEGER NOT NULL,
	UNIQUE (kind, tenant_id, generation)
) STRICT;

CREATE TABLE certs (
	issuer_id  TEXT NOT NULL,
	serial     BLOB NOT NULL,
	kind       TEXT NOT NULL,
	subject    TEXT NOT NULL,
	device_id  TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	not_before INTEGER NOT NULL,
	not_after  INTEGER NOT NULL,
	cert_der   BLOB NOT NULL,
	revoked_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (issuer_id, serial)
) STRICT;

CREATE INDEX certs_device ON certs (device_id);

-- tenant_id is '' until the device is claimed.
CREATE TABLE devices (
	id            TEXT PRIMARY KEY,
	registered_at INTEGER NOT NULL,
	blocked       INTEGER NOT NULL DEFAULT 0,
	blocked_at    INTEGER NOT NULL DEFAULT 0,
	tenant_id     TEXT NOT NULL DEFAULT '',
	claimed_at    INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX devices_tenant ON devices (tenant_id, id);

CREATE TABLE tokens (
	id         TEXT PRIMARY KEY,
	hash       BLOB NOT NULL UNIQUE,
	role       TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER NOT NULL
) STRICT;

CREATE INDEX tokens_tenant ON tokens (tenant_id, created_at);

CREATE TABLE audit_log (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	at         INTEGER NOT NULL,
	token_id   TEXT NOT NULL,
	role       TEXT NOT NULL,
	tenant_id  TEXT NOT NULL,
	action     TEXT NOT NULL,
	target     TEXT NOT NULL,
	result     TEXT NOT NULL,
	request_id TEXT NOT NULL,
	detail     TEXT NOT NULL
) STRICT;

CREATE TABLE crls (
	issuer_id   TEXT NOT NULL,
	number      INTEGER NOT NULL,
	this_update INTEGER NOT NULL,
	next_update INTEGER NOT NULL,
	der         BLOB NOT NULL,
	PRIMARY KEY (issuer_id, number)
) STRICT;
