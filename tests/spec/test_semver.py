"""Masterminds-style semver ranges: parsing, matching and picking the tag Flux would pick."""

from __future__ import annotations

import pytest

from fluxgitops.spec.semver import Version, parse_range

TAGS = ["v0.9.0", "v1.0.0", "v1.2.3", "v1.2.10", "v1.3.0-rc.1", "v1.3.0", "v2.0.0", "latest"]


@pytest.mark.parametrize(
    ("constraint", "best"),
    [
        (">=1.0.0 <2.0.0", "v1.3.0"),
        ("~1.2", "v1.2.10"),
        ("^1.2.3", "v1.3.0"),
        ("1.2.x", "v1.2.10"),
        ("*", "v2.0.0"),
        ("<1.0.0 || >=2.0.0", "v2.0.0"),
        ("1.0 - 1.2", "v1.2.10"),
        (">=3.0.0", None),
        (">=1.3.0-rc.0 <1.3.0", "v1.3.0-rc.1"),
        ("^0.9", "v0.9.0"),
        ("=1.0.0", "v1.0.0"),
    ],
)
def test_best_matching_tag(constraint: str, best: str | None) -> None:
    assert parse_range(constraint).best(TAGS) == best


@pytest.mark.parametrize("constraint", ["", ">>1.0", "one", "1.2.3.4", ">=1.0 ||", "~"])
def test_invalid_ranges_raise(constraint: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_range(constraint)


def test_version_ordering_with_prerelease() -> None:
    assert Version.parse("1.0.0-alpha") < Version.parse("1.0.0-alpha.1") < Version.parse("1.0.0")
    assert Version.parse("v1.2") == Version.parse("1.2.0")
