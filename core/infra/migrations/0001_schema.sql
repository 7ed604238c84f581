-- The booking schema. Postgres enforces the invariants itself: no overlapping held/confirmed
-- bookings per provider (exclusion constraint), confirmed implies a calendar event (CHECK), one
-- contact per person per org (unique indexes), tenant walls (composite foreign keys on org_id).

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE organizations (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug              text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    time_zone         text NOT NULL,
    default_region    text NOT NULL DEFAULT 'US' CHECK (default_region ~ '^[A-Z]{2}$'),
    sms_sender        text,
    -- Credentials are random 256-bit tokens, so a plain SHA-256 is a sufficient hash.
    api_key_hash      text NOT NULL UNIQUE,
    voice_secret_hash text NOT NULL UNIQUE,
    -- Retell signs with the org's Retell API key; it must be readable to verify signatures.
    retell_api_key    text,
    slot_step         interval NOT NULL DEFAULT '30 minutes' CHECK (slot_step > interval '0'),
    min_notice        interval NOT NULL DEFAULT '1 hour' CHECK (min_notice >= interval '0'),
    horizon           interval NOT NULL DEFAULT '60 days' CHECK (horizon > interval '0'),
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE providers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- Every provider has a calendar: a booking is confirmed only once its event exists there.
    calendar_id text NOT NULL CHECK (length(calendar_id) BETWEEN 1 AND 1024),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    UNIQUE (org_id, name)
);

CREATE TABLE services (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id           uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 720),
    buffer_minutes   integer NOT NULL DEFAULT 0 CHECK (buffer_minutes BETWEEN 0 AND 240),
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, id),
    UNIQUE (org_id, name)
);

-- Weekly opening hours in the org's time zone; weekday 0 = Monday (Python's convention).
CREATE TABLE business_hours (
    org_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    weekday smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    opens   time NOT NULL,
    closes  time NOT NULL,
    CHECK (opens < closes),
    PRIMARY KEY (org_id, weekday, opens)
);

CREATE TABLE contacts (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    phone      text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    email      text CHECK (email = lower(email)),
    name       text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (phone IS NOT NULL OR email IS NOT NULL),
    UNIQUE (org_id, id),
    UNIQUE (org_id, phone)
);

-- Phone-less callers get the same single-statement upsert path through this partial index.
CREATE UNIQUE INDEX contacts_email_without_phone ON contacts (org_id, email) WHERE phone IS NULL;

CREATE TYPE booking_status AS ENUM ('held', 'confirmed', 'cancelled', 'failed');

CREATE TABLE bookings (
    id                uuid PRIMARY KEY,
    org_id            uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    provider_id       uuid NOT NULL,
    service_id        uuid NOT NULL,
    contact_id        uuid NOT NULL,
    starts_at         timestamptz NOT NULL,
    ends_at           timestamptz NOT NULL,
    -- The time the provider is occupied: the appointment plus the service's buffer.
    during            tstzrange NOT NULL,
    status            booking_status NOT NULL DEFAULT 'held',
    calendar_event_id text,
    status_reason     text,
    notes             text,
    workflow_id       text NOT NULL UNIQUE,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (org_id, provider_id) REFERENCES providers (org_id, id),
    FOREIGN KEY (org_id, service_id) REFERENCES services (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id),
    CONSTRAINT bookings_ends_after_start CHECK (ends_at > starts_at),
    CONSTRAINT bookings_during_covers_appointment
        CHECK (lower(during) = starts_at AND upper(during) >= ends_at AND lower_inc(during)
               AND NOT upper_inc(during)),
    CONSTRAINT bookings_confirmed_has_event
        CHECK (status <> 'confirmed' OR calendar_event_id IS NOT NULL),
    CONSTRAINT bookings_failed_has_reason
        CHECK (status <> 'failed' OR status_reason IS NOT NULL),
    CONSTRAINT bookings_no_overlap
        EXCLUDE USING gist (provider_id WITH =, during WITH &&)
        WHERE (status IN ('held', 'confirmed'))
);

CREATE INDEX bookings_org_start ON bookings (org_id, starts_at);
CREATE INDEX bookings_contact ON bookings (contact_id, starts_at);

-- Append-only trail of every status change and every move, written by a trigger so no code
-- path can change a booking without leaving a row here.
CREATE TABLE booking_events (
    id          bigserial PRIMARY KEY,
    booking_id  uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    org_id      uuid NOT NULL,
    from_status booking_status,
    to_status   booking_status NOT NULL,
    starts_at   timestamptz NOT NULL,
    reason      text,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX booking_events_booking ON booking_events (booking_id, id);

CREATE FUNCTION record_booking_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO booking_events (booking_id, org_id, from_status, to_status, starts_at, reason)
        VALUES (NEW.id, NEW.org_id, NULL, NEW.status, NEW.starts_at, NEW.status_reason);
    ELSIF NEW.status IS DISTINCT FROM OLD.status OR NEW.starts_at IS DISTINCT FROM OLD.starts_at THEN
        INSERT INTO booking_events (booking_id, org_id, from_status, to_status, starts_at, reason)
        VALUES (NEW.id, NEW.org_id, OLD.status, NEW.status, NEW.starts_at, NEW.status_reason);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER bookings_record_event
    AFTER INSERT OR UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION record_booking_event();

CREATE FUNCTION reject_booking_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'booking_events is append-only';
END;
$$;

CREATE TRIGGER booking_events_append_only
    BEFORE UPDATE OR DELETE ON booking_events
    FOR EACH ROW WHEN (pg_trigger_depth() = 0)
    EXECUTE FUNCTION reject_booking_event_change();

-- One row per (booking, send_key): the send activity checks it before calling Twilio, because
-- Twilio has no idempotency key for message creation.
CREATE TABLE sms_messages (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    booking_id  uuid NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    send_key    text NOT NULL,
    to_phone    text NOT NULL,
    body        text NOT NULL,
    status      text NOT NULL DEFAULT 'pending',
    twilio_sid  text UNIQUE,
    error_code  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (booking_id, send_key)
);

CREATE INDEX sms_messages_pending ON sms_messages (status, created_at)
    WHERE status IN ('pending', 'queued', 'sending');
