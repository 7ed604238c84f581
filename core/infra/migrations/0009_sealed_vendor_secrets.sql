-- Vendor secrets stored per org are sealed with AES-GCM (core/infra/secret_box.py), stored as
-- `v1:<key id>:<base64>`. The constraints refuse plaintext from now on. They are NOT VALID
-- because SQL cannot seal the rows already there (it has no key): `booking migrate` seals them
-- right after this file, then validates the constraints (core/ops/sealed_secrets.py).
ALTER TABLE organizations
    ADD CONSTRAINT organizations_retell_api_key_sealed
        CHECK (retell_api_key ~ '^v1:[A-Za-z0-9_-]+:[A-Za-z0-9+/]+=*$') NOT VALID,
    ADD CONSTRAINT organizations_vapi_hmac_secret_sealed
        CHECK (vapi_hmac_secret ~ '^v1:[A-Za-z0-9_-]+:[A-Za-z0-9+/]+=*$') NOT VALID;

COMMENT ON COLUMN organizations.retell_api_key IS
    'Retell API key, sealed: v1:<key id>:<base64 nonce+ciphertext>, bound to the org id and column';
COMMENT ON COLUMN organizations.vapi_hmac_secret IS
    'Vapi HMAC signing secret, sealed like retell_api_key';
