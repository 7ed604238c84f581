"""The domain's operations that read and write through `core.repositories`: scheduling
(availability, the reservation plan, the catalog cache) and orgs (create one, rotate its
credentials, the org a request acts for)."""
