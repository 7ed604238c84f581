-- Busy times of each provider's Google calendar, kept in Postgres so that answering a caller
-- never waits for Google: a durable sync per provider (full sync, then incremental sync with
-- Google's sync token, woken by push notifications and by a periodic reconcile) writes them,
-- and the booking statement and availability read them beside the bookings.

CREATE TABLE calendar_syncs (
    provider_id       uuid PRIMARY KEY,
    org_id            uuid NOT NULL,
    calendar_id       text NOT NULL,
    -- Google's nextSyncToken of the last complete sync; NULL means "full sync next".
    sync_token        text,
    last_full_sync_at timestamptz,
    -- The last sync (full or incremental) that completed: how fresh the busy blocks are.
    last_synced_at    timestamptz,
    last_error        text,
    last_error_at     timestamptz,
    -- The push channel (events.watch) Google notifies; its token is checked on every
    -- notification and stored only as a SHA-256 hash.
    channel_id         text UNIQUE,
    channel_token_hash text,
    channel_resource_id text,
    channel_expires_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, provider_id) REFERENCES providers (org_id, id) ON DELETE CASCADE
);

-- One row per busy event in the provider's calendar that this system did not create (our own
-- booking events are the bookings themselves). `first_seen_at` lets the audit tell a block that
-- arrived after a booking was answered from one the booking ignored.
CREATE TABLE calendar_busy_blocks (
    provider_id   uuid NOT NULL,
    org_id        uuid NOT NULL,
    event_id      text NOT NULL,
    during        tstzrange NOT NULL CHECK (NOT isempty(during)),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider_id, event_id),
    FOREIGN KEY (org_id, provider_id) REFERENCES providers (org_id, id) ON DELETE CASCADE
);

CREATE INDEX calendar_busy_blocks_during ON calendar_busy_blocks USING gist (provider_id, during);
