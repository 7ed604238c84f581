-- An org's locale and languages are part of its cached configuration (OrgCatalog): changing
-- them bumps config_version like the other settings, so every process reloads them.
DROP TRIGGER organizations_bump_config ON organizations;
CREATE TRIGGER organizations_bump_config BEFORE UPDATE ON organizations
    FOR EACH ROW
    WHEN ((OLD.name, OLD.time_zone, OLD.default_region, OLD.sms_sender, OLD.slot_step,
           OLD.min_notice, OLD.horizon, OLD.locale, OLD.languages)
          IS DISTINCT FROM
          (NEW.name, NEW.time_zone, NEW.default_region, NEW.sms_sender, NEW.slot_step,
           NEW.min_notice, NEW.horizon, NEW.locale, NEW.languages))
    EXECUTE FUNCTION bump_own_config_version();
