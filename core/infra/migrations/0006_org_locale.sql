-- The BCP 47 locale an org's callers hear and read (core/domain/language.py): dates, times and
-- sentences of spoken answers and SMS. Existing orgs keep speaking US English.
ALTER TABLE organizations ADD COLUMN locale text NOT NULL DEFAULT 'en-US';
