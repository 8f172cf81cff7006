-- A device's certificates are found through its issuances, whose index
-- (device_id, seq) the attestation path writes anyway; the certificates'
-- own index on device_id cost a write at a random place per issuance.
DROP INDEX certs_device;
