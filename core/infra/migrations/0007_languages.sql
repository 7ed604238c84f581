-- The locales an org serves (core/domain/language.py): a caller who asks for one of them in a
-- call hears it; NULL means only the org's own locale.
ALTER TABLE organizations ADD COLUMN languages text[];
-- The locale a booking was made in, when the caller asked for one other than the org's: its
-- later texts (reminder, rescheduled, cancelled) use it. NULL means the org's locale.
ALTER TABLE bookings ADD COLUMN locale text;
