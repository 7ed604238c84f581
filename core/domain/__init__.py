"""The booking domain as pure logic (no I/O, no clock): availability, the org catalog and
org specs, statuses, input normalization and the words callers hear. Repositories and services
import it; it imports neither."""
