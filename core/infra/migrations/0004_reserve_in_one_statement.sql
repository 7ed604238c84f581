-- Phase 1 of a booking in one round trip: `reserve_booking` checks the org's configuration
-- version, finds a retried request's own booking, answers a caller who already holds that time
-- with their booking, refuses a time blocked in the provider's calendar, and upserts the caller's
-- contact and inserts the held booking under the exclusion constraint; when the time is not free
-- it returns the provider's busy ranges in the search window, so the alternatives need no second
-- query. Scheduling rules (hours, notice, horizon) are checked before the call, from a
-- cached copy of the org's configuration whose version this function checks.

-- Bumped by every change to what scheduling reads (the org's settings, providers, services,
-- opening hours), so a process holding a cached copy learns that it is stale.
ALTER TABLE organizations ADD COLUMN config_version bigint NOT NULL DEFAULT 1;

CREATE FUNCTION bump_org_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A cascade from deleting the org itself (depth > 1) has no org left to bump.
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    UPDATE organizations SET config_version = config_version + 1
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END;
    RETURN NULL;
END;
$$;

CREATE TRIGGER providers_bump_config AFTER INSERT OR UPDATE OR DELETE ON providers
    FOR EACH ROW EXECUTE FUNCTION bump_org_config_version();
CREATE TRIGGER services_bump_config AFTER INSERT OR UPDATE OR DELETE ON services
    FOR EACH ROW EXECUTE FUNCTION bump_org_config_version();
CREATE TRIGGER business_hours_bump_config AFTER INSERT OR UPDATE OR DELETE ON business_hours
    FOR EACH ROW EXECUTE FUNCTION bump_org_config_version();

CREATE FUNCTION bump_own_config_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.config_version := OLD.config_version + 1;
    RETURN NEW;
END;
$$;

CREATE TRIGGER organizations_bump_config BEFORE UPDATE ON organizations
    FOR EACH ROW
    WHEN ((OLD.name, OLD.time_zone, OLD.default_region, OLD.sms_sender, OLD.slot_step,
           OLD.min_notice, OLD.horizon)
          IS DISTINCT FROM
          (NEW.name, NEW.time_zone, NEW.default_region, NEW.sms_sender, NEW.slot_step,
           NEW.min_notice, NEW.horizon))
    EXECUTE FUNCTION bump_own_config_version();

-- What occupies a provider within a window: held and confirmed bookings (appointment plus
-- buffer) and the busy blocks synced from its calendar. Unsorted and unmerged; the availability
-- engine merges them.
CREATE FUNCTION provider_busy(p_org_id uuid, p_provider_id uuid, p_window tstzrange)
RETURNS tstzrange[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(busy.during), '{}') FROM (
        SELECT b.during FROM bookings b
        WHERE b.org_id = p_org_id AND b.provider_id = p_provider_id
          AND b.status IN ('held', 'confirmed') AND b.during && p_window
        UNION ALL
        SELECT k.during FROM calendar_busy_blocks k
        WHERE k.org_id = p_org_id AND k.provider_id = p_provider_id AND k.during && p_window
    ) busy
$$;

-- The booking the caller already holds at this start (held or confirmed), if any: the caller is
-- the org's contact with this phone or, without a phone, this email.
CREATE FUNCTION held_by_caller(
    p_org_id uuid, p_phone text, p_email text, p_starts_at timestamptz
) RETURNS TABLE (
    booking_id uuid,
    status booking_status,
    provider_id uuid,
    service_id uuid,
    starts_at timestamptz,
    ends_at timestamptz
) LANGUAGE sql STABLE AS $$
    SELECT b.id, b.status, b.provider_id, b.service_id, b.starts_at, b.ends_at
    FROM contacts c
    JOIN bookings b ON b.contact_id = c.id AND b.org_id = c.org_id
    WHERE c.org_id = p_org_id
      AND (c.phone = p_phone OR (p_phone IS NULL AND c.phone IS NULL AND c.email = p_email))
      AND b.starts_at = p_starts_at AND b.status IN ('held', 'confirmed')
    ORDER BY b.created_at LIMIT 1
$$;

-- Outcomes: 'stale' (the caller's configuration version is not current), 'retried' (this
-- booking id exists: its status and time), 'already_booked' (the caller holds a held or
-- confirmed booking at this start: that booking; an agent re-issuing a booking with a new
-- tool-call id must not hear "taken", nor make a second booking), 'blocked' (the calendar is
-- busy) and 'taken' (the exclusion constraint refused), both with `busy`, or 'booked'. Only
-- 'booked' writes anything: the contact upsert and the booking insert succeed or fail together.
CREATE FUNCTION reserve_booking(
    p_org_id uuid,
    p_config_version bigint,
    p_booking_id uuid,
    p_workflow_id text,
    p_provider_id uuid,
    p_service_id uuid,
    p_phone text,
    p_email text,
    p_name text,
    p_starts_at timestamptz,
    p_ends_at timestamptz,
    p_occupied_until timestamptz,
    p_notes text,
    p_window tstzrange
) RETURNS TABLE (
    outcome text,
    booking_id uuid,
    status booking_status,
    provider_id uuid,
    service_id uuid,
    starts_at timestamptz,
    ends_at timestamptz,
    busy tstzrange[]
) LANGUAGE plpgsql AS $$
DECLARE
    v_contact uuid;
    v_found record;
BEGIN
    IF (SELECT o.config_version FROM organizations o WHERE o.id = p_org_id)
       IS DISTINCT FROM p_config_version THEN
        RETURN QUERY SELECT 'stale', NULL::uuid, NULL::booking_status, NULL::uuid, NULL::uuid,
                            NULL::timestamptz, NULL::timestamptz, NULL::tstzrange[];
        RETURN;
    END IF;

    SELECT b.status, b.provider_id, b.service_id, b.starts_at, b.ends_at INTO v_found
    FROM bookings b WHERE b.id = p_booking_id AND b.org_id = p_org_id;
    IF FOUND THEN
        RETURN QUERY SELECT 'retried', p_booking_id, v_found.status, v_found.provider_id,
                            v_found.service_id, v_found.starts_at, v_found.ends_at,
                            NULL::tstzrange[];
        RETURN;
    END IF;

    SELECT * INTO v_found FROM held_by_caller(p_org_id, p_phone, p_email, p_starts_at);
    IF FOUND THEN
        RETURN QUERY SELECT 'already_booked', v_found.booking_id, v_found.status,
                            v_found.provider_id, v_found.service_id, v_found.starts_at,
                            v_found.ends_at, NULL::tstzrange[];
        RETURN;
    END IF;

    IF EXISTS (
        SELECT 1 FROM calendar_busy_blocks k
        WHERE k.org_id = p_org_id AND k.provider_id = p_provider_id
          AND k.during && tstzrange(p_starts_at, p_occupied_until)
    ) THEN
        RETURN QUERY SELECT 'blocked', NULL::uuid, NULL::booking_status, NULL::uuid, NULL::uuid,
                            NULL::timestamptz, NULL::timestamptz,
                            provider_busy(p_org_id, p_provider_id, p_window);
        RETURN;
    END IF;

    BEGIN
        -- One contact per person: by E.164 phone, or, without one, by lower-cased email.
        IF p_phone IS NOT NULL THEN
            INSERT INTO contacts AS c (org_id, phone, email, name)
            VALUES (p_org_id, p_phone, p_email, p_name)
            ON CONFLICT (org_id, phone) DO UPDATE
                SET email = COALESCE(EXCLUDED.email, c.email),
                    name = COALESCE(EXCLUDED.name, c.name),
                    updated_at = now()
            RETURNING c.id INTO v_contact;
        ELSE
            INSERT INTO contacts AS c (org_id, email, name)
            VALUES (p_org_id, p_email, p_name)
            ON CONFLICT (org_id, email) WHERE phone IS NULL DO UPDATE
                SET name = COALESCE(EXCLUDED.name, c.name), updated_at = now()
            RETURNING c.id INTO v_contact;
        END IF;
        INSERT INTO bookings (id, org_id, provider_id, service_id, contact_id, starts_at, ends_at,
                              during, status, notes, workflow_id)
        VALUES (p_booking_id, p_org_id, p_provider_id, p_service_id, v_contact, p_starts_at,
                p_ends_at, tstzrange(p_starts_at, p_occupied_until), 'held', p_notes,
                p_workflow_id);
    EXCEPTION WHEN exclusion_violation THEN
        -- The same caller's concurrent request may be the one that took it (the constraint
        -- waited for it to commit, so this statement sees it).
        SELECT * INTO v_found FROM held_by_caller(p_org_id, p_phone, p_email, p_starts_at);
        IF FOUND THEN
            RETURN QUERY SELECT 'already_booked', v_found.booking_id, v_found.status,
                                v_found.provider_id, v_found.service_id, v_found.starts_at,
                                v_found.ends_at, NULL::tstzrange[];
            RETURN;
        END IF;
        RETURN QUERY SELECT 'taken', NULL::uuid, NULL::booking_status, NULL::uuid, NULL::uuid,
                            NULL::timestamptz, NULL::timestamptz,
                            provider_busy(p_org_id, p_provider_id, p_window);
        RETURN;
    END;
    RETURN QUERY SELECT 'booked', p_booking_id, 'held'::booking_status, p_provider_id,
                        p_service_id, p_starts_at, p_ends_at, NULL::tstzrange[];
END;
$$;
