-- A device's last attestation is the newest of its issuances, read through
-- the index issuances_device; keeping a copy in the device's row cost every
-- attestation a write to that row.
ALTER TABLE devices DROP COLUMN last_attested_at;
ALTER TABLE devices DROP COLUMN last_verdict;
ALTER TABLE devices DROP COLUMN last_software;
ALTER TABLE devices DROP COLUMN cert_not_after;

-- The newest issuance is found by comparing issuances.device_id with
-- devices.id, whose collation is "C": with another collation on this side,
-- PostgreSQL cannot use the index for that comparison and scans it all.
ALTER TABLE issuances ALTER COLUMN device_id TYPE TEXT COLLATE "C";
