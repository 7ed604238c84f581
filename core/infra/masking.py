"""Masking personal data in text bound for logs: phone numbers and email addresses.

`mask_text` finds them in free text (log messages, exception text, URLs with query strings,
form bodies) and masks them in place; `mask_phone` masks a value already known to be a number.
A masked number keeps its country code digit and last four digits, `+1******0123`, and an
email its first character and domain, `s***@example.com`: enough to correlate, not to call.

Recognised numbers: E.164 (`+14155550123`), international with separators (`+1 415 555 0123`,
`+44 20 7946 0958`), North American (`(415) 555-0123`, `415-555-0123`, `415.555.0123`,
`4155550123`, `14155550123`), national with a trunk 0 (`020 7946 0958`, `07700900123`), and
each of those URL-encoded (`%2B14155550123`, `%28415%29%20555-0123`, `415+555+0123`). Digit
runs glued to letters, dots or other digits are left alone, which is what keeps UUIDs, Twilio
SIDs, timestamps, versions and IP addresses intact.
"""

import re

_PLUS = r"(?:\+|%2[Bb])"
_SEP = r"(?:[ .\-]|%20|\+)"
_OPEN = r"(?:\(|%28)"
_CLOSE = r"(?:\)|%29)"
# Not inside a word, a number, a dotted run (1.4155550123) or a time (15:00:00.123456), except
# right after an encoded space.
_START = r"(?:(?<![\w.])(?<!\d:)|(?<=%20))"
_END = r"(?![\w]|[.\-]\d)"

_PHONE = "|".join(
    (
        # E.164, possibly with separators after the country code.
        rf"{_PLUS}[1-9]\d{{6,14}}(?!\d)",
        rf"{_PLUS}[1-9]\d{{0,2}}{_SEP}{_OPEN}?\d{{1,4}}{_CLOSE}?{_SEP}?\d{{2,4}}(?:{_SEP}?\d{{2,4}}){{0,3}}{_END}",
        # North American: formatted, or 10 / 11 bare digits (area codes never start with 0 / 1).
        rf"{_START}(?:1{_SEP})?{_OPEN}?[2-9]\d{{2}}{_CLOSE}?{_SEP}?\d{{3}}{_SEP}\d{{4}}{_END}",
        rf"{_START}1?[2-9]\d{{9}}{_END}",
        # National numbers with a trunk 0 (UK, EU, ...): formatted or bare.
        rf"{_START}{_OPEN}?0\d{{1,4}}{_CLOSE}?{_SEP}\d{{3,4}}{_SEP}?\d{{3,4}}{_END}",
        rf"{_START}0[1-9]\d{{8,9}}{_END}",
    )
)
_EMAIL = r"(?<![\w.%+\-])[\w.%+\-]+(?:@|%40)[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"
_PATTERN = re.compile(rf"(?P<email>{_EMAIL})|(?P<phone>{_PHONE})")
# One unit of a matched number: an %XX escape (never masked), a digit, or any other character.
_UNIT = re.compile(r"%[0-9A-Fa-f]{2}|\d|.", re.DOTALL)
_MIN_DIGITS, _MAX_DIGITS = 8, 15


def mask_text(text: str) -> str:
    """`text` with every phone number and email address it contains masked."""
    if not text:
        return text
    return _PATTERN.sub(_mask_match, text)


def mask_phone(number: str) -> str:
    """`+14155550123` → `+1******0123`: enough to correlate logs, not enough to dial."""
    digits = sum(char.isdigit() for char in number)
    keep_last = 4 if digits >= _MIN_DIGITS else 2 if digits >= 5 else 0
    return _mask_digits(number, keep_last=keep_last)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group()
    if match.group("email") is not None:
        at = found.find("@")
        if at < 0:
            at = found.lower().find("%40")
        return f"{found[0]}***{found[at:]}"
    if not _MIN_DIGITS <= sum(char.isdigit() for char in _unescaped(found)) <= _MAX_DIGITS:
        return found
    return _mask_digits(found, keep_last=4)


def _mask_digits(text: str, *, keep_last: int) -> str:
    """Digits → `*`, except the first after a leading `+` and the last `keep_last`."""
    units = _UNIT.findall(text)
    digit_positions = [i for i, unit in enumerate(units) if unit.isdigit()]
    kept = set(digit_positions[-keep_last:]) if keep_last else set()
    if units and units[0] in ("+", "%2B", "%2b") and len(digit_positions) > keep_last + 1:
        kept.add(digit_positions[0])
    return "".join(
        "*" if unit.isdigit() and i not in kept else unit for i, unit in enumerate(units)
    )


def _unescaped(text: str) -> str:
    return re.sub(r"%[0-9A-Fa-f]{2}", " ", text)
