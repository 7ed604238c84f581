-- How each org's Vapi assistant authenticates (core/domain/vapi_auth.py). The settings are kept
-- in the clear as JSON (header names, algorithm, encoding, window); NULL means the defaults:
-- the voice secret as `Authorization: Bearer` or `X-Vapi-Secret`.
ALTER TABLE organizations ADD COLUMN vapi_auth jsonb;
-- HMAC needs the signing secret itself on every request, so it is stored as the Retell API key
-- is: readable by the server, never selected by a query that answers a client.
ALTER TABLE organizations ADD COLUMN vapi_hmac_secret text;
