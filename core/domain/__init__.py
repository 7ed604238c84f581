"""The booking domain: availability, scheduling, the org catalog, input normalization and
the words callers hear. Pure logic, except `scheduling` and `orgs`, which read and write
through `core.repositories`."""
