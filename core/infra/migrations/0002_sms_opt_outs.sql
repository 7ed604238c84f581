-- Recipients who asked a sender number to stop texting them (STOP and its synonyms), or whom
-- Twilio refused with 21610 "unsubscribed recipient". Keyed by (sender, phone), not by org:
-- Twilio blocks per sender number, so every org sending from that number is blocked alike
-- (see core/repositories/opt_outs.py). START removes the row.

CREATE TABLE sms_opt_outs (
    sender       text NOT NULL CHECK (sender <> ''),
    phone        text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    -- What recorded it: the keyword texted ("STOP") or the refusal ("twilio:21610").
    source       text NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
    opted_out_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sender, phone)
);
