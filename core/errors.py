"""Typed errors shared by every layer.

Hierarchy::

    BookingError                 base of everything the project raises on purpose
    ├── InvalidInput             the caller's input cannot be used (bad phone, garbage time, ...)
    │   └── TimeInPast           a well-formed time that has already passed
    ├── NotFound                 a row the caller named does not exist in their org
    ├── SlotUnavailable          the slot is taken or outside bookable hours; carries alternatives
    ├── ConfigurationError       settings are missing or contradict each other
    ├── SealedSecretUnreadable   a stored org secret does not open (unknown key, moved, altered)
    ├── BackendUnavailable       Temporal (or Postgres) did not answer in time; safe to retry
    ├── StackError               the embedded stack cannot start (port in use, stale lock, ...)
    └── ExternalServiceError     Twilio / Google answered with an error
        ├── TransientServiceError    safe to retry (5xx, 429, timeouts, rate-limit 403)
        └── PermanentServiceError    retrying cannot help (other 4xx); carries the vendor code

Activities turn these into `temporalio.exceptions.ApplicationError` with `type` set to the class
name (non-retryable unless transient), and the API maps that type to a response.
"""

from collections.abc import Callable
from datetime import datetime


class BookingError(Exception):
    """Base class: a failure the project anticipated and can explain in one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(BookingError):
    """The caller's input cannot be used; `field` names which part, when known.

    `in_locale` says the sentence in a locale when it quotes the input ("Tuesday ... has already
    passed."): a message id cannot carry the quoted date, which is itself spelled per locale.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        in_locale: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.in_locale = in_locale


class TimeInPast(InvalidInput):
    """A start that has already passed; callers may offer alternatives instead."""


class NotFound(BookingError):
    """The named row does not exist (or belongs to another org, which looks the same)."""


class SlotUnavailable(BookingError):
    """The requested time cannot be booked; `alternatives` are the next free starts."""

    def __init__(self, message: str, *, alternatives: list[datetime]) -> None:
        super().__init__(message)
        self.alternatives = alternatives


class ConfigurationError(BookingError):
    """Settings are missing or inconsistent."""


class SealedSecretUnreadable(BookingError):
    """A sealed org secret cannot be opened: its key id is not configured, or it was altered or
    copied from another org or column. The message never holds the value."""


class BackendUnavailable(BookingError):
    """Our own backend (Temporal, Postgres) could not answer in time; the caller may retry."""


class StackError(BookingError):
    """The embedded Postgres or Temporal cannot start; the message says what to do."""


class ExternalServiceError(BookingError):
    """A vendor API (Twilio, Google Calendar) answered with an error."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class TransientServiceError(ExternalServiceError):
    """Retrying later may succeed: 5xx, 429, timeouts, connection errors, rate-limit 403s."""


class PermanentServiceError(ExternalServiceError):
    """Retrying cannot succeed: the request itself was refused (invalid number, forbidden, ...)."""
