"""Infrastructure: settings, the Postgres pool and migrations, logging and PII masking."""
