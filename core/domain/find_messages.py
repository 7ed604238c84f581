"""What find_appointments says: a caller's upcoming bookings in one line, in the org's locale.

Sentences are gettext ids like those in `core.domain.messages`, translated by `say`.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from core.domain.language import DEFAULT_LOCALE
from core.domain.messages import N_, say
from core.domain.speech import spoken_datetime, spoken_list

NO_UPCOMING = N_("I couldn't find any upcoming appointments for this number.")
# Neither a `phone` argument nor a caller number (a web call, a withheld number).
FIND_NEEDS_A_NUMBER = N_("Which phone number are the appointments under?")
# The platform's caller number is not a phone number libphonenumber accepts.
CALLER_NUMBER_UNREADABLE = N_(
    "I can't read the number you're calling from; which phone number are the appointments under?"
)
# At most this many are named aloud: a longer list is more than a caller can follow (and more
# than the 300 characters a tool result is cut to).
SPOKEN_APPOINTMENTS = 3


class SpokenAppointment(NamedTuple):
    service: str
    provider: str
    at: datetime


def upcoming_appointments(
    appointments: Sequence[SpokenAppointment],
    *,
    more: bool,
    tz: ZoneInfo,
    locale: str = DEFAULT_LOCALE,
) -> str:
    """A caller's upcoming appointments in one line, soonest first: "You have 2 upcoming
    appointments: Consultation with Dr. Test on ... at 8:00 AM, and ...". `more`: others follow
    the ones given, so the count is "more than N". Nothing given: `NO_UPCOMING`."""
    if not appointments:
        return say(NO_UPCOMING, locale)
    count = len(appointments)
    said = [
        say(
            N_("{service} with {provider} on {when}"),
            locale,
            service=a.service,
            provider=a.provider,
            when=spoken_datetime(a.at, tz, locale),
        )
        for a in appointments[:SPOKEN_APPOINTMENTS]
    ]
    listed = spoken_list(said, locale)
    if count == 1 and not more:
        return say(N_("You have one upcoming appointment: {listed}."), locale, listed=listed)
    if count <= SPOKEN_APPOINTMENTS and not more:
        return say(
            N_("You have {count} upcoming appointments: {listed}."),
            locale,
            count=count,
            listed=listed,
        )
    if more:
        sentence = N_(
            "You have more than {count} upcoming appointments. The next {shown}: {listed}."
        )
    else:
        sentence = N_("You have {count} upcoming appointments. The next {shown}: {listed}.")
    return say(sentence, locale, count=count, shown=len(said), listed=listed)
