-- A device's last attestation is the newest of its issuances, read through
-- the index issuances_device; keeping a copy in the device's row cost every
-- attestation a write to that row.
ALTER TABLE devices DROP COLUMN last_attested_at;
ALTER TABLE devices DROP COLUMN last_verdict;
ALTER TABLE devices DROP COLUMN last_software;
ALTER TABLE devices DROP COLUMN cert_not_after;
