"""Go-style durations (``10m``, ``1h30m``, ``500ms``) and plain seconds, both ways.

Flux objects take Go duration strings; Azure's ARM API takes whole seconds
(``syncIntervalInSeconds``). The spec accepts either and stores a
``timedelta``; the renderer writes the shortest Go form and the Azure mapping
writes seconds. Used by the spec models (``Duration`` annotated type), the
renderer and the Azure mapping. Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

_UNITS_US: dict[str, int] = {
    "h": 3_600_000_000,
    "m": 60_000_000,
    "s": 1_000_000,
    "ms": 1_000,
    "us": 1,
    "µs": 1,
}
_TOKEN = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|µs|m|s)")
_ISO = re.compile(
    r"P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)
_ALLOWED = "a Go duration such as '90s', '10m' or '1h30m', or a number of seconds"


def parse_duration(value: object) -> timedelta:
    """Parse a Go duration, an ISO 8601 time duration (``PT5M``, as ARM uses) or seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(_ALLOWED)
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(_ALLOWED)
    text = value.strip()
    iso = _ISO.fullmatch(text.upper())
    if iso and any(iso.groups()) and not text.upper().endswith("T"):
        days, hours, minutes, seconds = (float(g) if g else 0.0 for g in iso.groups())
        return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return timedelta(seconds=float(text))
    pos = 0
    total_us = 0.0
    for match in _TOKEN.finditer(text):
        if match.start() != pos:
            raise ValueError(_ALLOWED)
        total_us += float(match.group(1)) * _UNITS_US[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ValueError(_ALLOWED)
    return timedelta(microseconds=round(total_us))


_UNITS = ("h", "m", "s", "ms", "us")


def format_duration(value: timedelta, largest: str = "h") -> str:
    """The shortest Go duration string for ``value`` (``1h30m``, ``45s``, ``500ms``, ``0s``).

    ``largest`` caps the unit: the Flux source CRDs' ``timeout`` pattern allows
    only ``ms|s|m``, so a source timeout of two hours is written ``120m``.
    """
    total_us = round(value.total_seconds() * 1_000_000)
    if total_us == 0:
        return "0s"
    sign = "-" if total_us < 0 else ""
    rest = abs(total_us)
    parts: list[str] = []
    for unit in _UNITS[_UNITS.index(largest) :]:
        size = _UNITS_US[unit]
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def whole_seconds(value: timedelta) -> int:
    """Whole seconds, as ARM's ``*InSeconds`` fields want them."""
    return int(value.total_seconds())


def _validate(value: Any) -> timedelta:
    try:
        parsed = parse_duration(value)
    except ValueError:
        raise PydanticCustomError("duration", "must be " + _ALLOWED) from None
    if parsed <= timedelta(0):
        raise PydanticCustomError("duration_positive", "must be a positive duration")
    if parsed.microseconds % 1000:
        raise PydanticCustomError(
            "duration_precision",
            "must be a whole number of milliseconds: Flux durations have no smaller unit",
        )
    return parsed


Duration = Annotated[
    timedelta,
    BeforeValidator(_validate),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A positive duration: Go string or seconds in, ``timedelta`` inside, Go string in JSON."""
