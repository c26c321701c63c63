"""Go / ISO 8601 / seconds durations, both ways."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fluxgitops.errors import SpecError
from fluxgitops.spec import parse_configuration
from fluxgitops.spec.durations import format_duration, parse_duration, whole_seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("90", timedelta(seconds=90)),
        (600, timedelta(minutes=10)),
        ("PT5M", timedelta(minutes=5)),
        ("1.5h", timedelta(minutes=90)),
        ("2h0m0s", timedelta(hours=2)),
    ],
)
def test_parse_accepted_forms(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "m10", "10 m", "1d", "abc", True, None])
def test_parse_rejects_everything_else(text: object) -> None:
    if text == "10":
        assert parse_duration(text) == timedelta(seconds=10)
        return
    with pytest.raises(ValueError, match="Go duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=90), "1h30m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(0), "0s"),
        (timedelta(milliseconds=1500), "1s500ms"),
        (timedelta(hours=25), "25h"),
    ],
)
def test_format_shortest_go_form(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value


def test_whole_seconds_for_arm() -> None:
    assert whole_seconds(timedelta(minutes=10)) == 600


def test_format_caps_the_unit_for_source_timeouts() -> None:
    assert format_duration(timedelta(hours=2, seconds=5), largest="m") == "120m5s"


def test_sub_millisecond_precision_is_refused() -> None:
    raw = {
        "name": "cfg",
        "gitRepository": {"url": "https://github.com/org/repo", "timeout": "1ms500us"},
    }
    with pytest.raises(SpecError) as info:
        parse_configuration(raw)
    error = next(e for e in info.value.errors if e.path == "gitRepository.timeout")
    assert error.message.startswith("must be a whole number of milliseconds")
