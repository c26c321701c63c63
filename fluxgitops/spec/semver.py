"""Semantic versions and Masterminds-style constraint ranges, as Flux evaluates them.

Flux resolves ``ref.semver`` (Git tags, OCI tags) with Masterminds/semver
constraints: ``>=1.0.0 <2.0.0``, ``~1.2``, ``^1.2.3``, ``1.2.x``, ``*``,
``1.2 - 1.4``, alternatives joined by ``||``. The spec uses ``parse_range`` to
reject ranges that would not parse; the plan-time source check uses
``Range.best`` to predict the tag Flux will pick. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import total_ordering

_VERSION = re.compile(
    r"v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+(?P<build>[0-9A-Za-z-.]+))?"
)
_WILDCARD_PART = re.compile(
    r"v?(?P<parts>(?:\d+|[xX*])(?:\.(?:\d+|[xX*])){0,2})(?P<rest>(?:-[0-9A-Za-z.-]+)?)"
)
_OP = re.compile(r"\s*(?P<op>!=|>=|=>|<=|=<|~>|[=<>~^])?\s*(?P<ver>[^\s,]+)\s*")


@total_ordering
@dataclass(frozen=True)
class Version:
    """A semantic version; ``parse`` accepts ``v`` prefixes and partial forms (``1.2``)."""

    major: int
    minor: int = 0
    patch: int = 0
    pre: tuple[str, ...] = ()
    build: str = field(default="", compare=False)

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse ``text`` or raise ``ValueError`` naming it."""
        match = _VERSION.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a semantic version")
        pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
        return cls(
            int(match.group("major")),
            int(match.group("minor") or 0),
            int(match.group("patch") or 0),
            pre,
            match.group("build") or "",
        )

    def _pre_key(self) -> tuple[tuple[int, int, str], ...]:
        return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        mine, theirs = (self.major, self.minor, self.patch), (other.major, other.minor, other.patch)
        if mine != theirs:
            return mine < theirs
        if not self.pre or not other.pre:
            return bool(self.pre) and not other.pre
        return self._pre_key() < other._pre_key()

    def __str__(self) -> str:
        pre = "-" + ".".join(self.pre) if self.pre else ""
        return f"{self.major}.{self.minor}.{self.patch}{pre}"


Check = Callable[[Version], bool]


def _bound(text: str) -> tuple[Version, int]:
    """Parse a possibly-wildcard version; return it and how many parts were fixed (0..3)."""
    match = _WILDCARD_PART.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a version or wildcard")
    raw = match.group("parts").split(".")
    fixed: list[int] = []
    for part in raw:
        if part in ("x", "X", "*"):
            break
        fixed.append(int(part))
    rest = match.group("rest")
    padded = fixed + [0] * (3 - len(fixed))
    pre = tuple(rest[1:].split(".")) if rest else ()
    return Version(padded[0], padded[1], padded[2], pre), len(fixed)


def _next(version: Version, fixed: int) -> Version:
    """The first version above the wildcard range ``version`` with ``fixed`` parts."""
    if fixed <= 1:
        return Version(version.major + 1)
    return Version(version.major, version.minor + 1)


def _single(op: str, text: str) -> Check:
    if text in ("*", "x", "X"):
        return lambda v: True
    low, fixed = _bound(text)
    wild = fixed < 3
    if op in ("", "="):
        if not wild:
            return lambda v: v == low
        high = _next(low, fixed)
        return lambda v: low <= v < high
    if op == "!=":
        if not wild:
            return lambda v: v != low
        high = _next(low, fixed)
        return lambda v: not (low <= v < high)
    if op == ">":
        if wild:
            high = _next(low, fixed)
            return lambda v: v >= high
        return lambda v: v > low
    if op in (">=", "=>"):
        return lambda v: v >= low
    if op == "<":
        return lambda v: v < low
    if op in ("<=", "=<"):
        if wild:
            high = _next(low, fixed)
            return lambda v: v < high
        return lambda v: v <= low
    if op in ("~", "~>"):
        high = Version(low.major + 1) if fixed == 1 else Version(low.major, low.minor + 1)
        return lambda v: low <= v < high
    if op == "^":
        if low.major > 0 or fixed == 1:
            high = Version(low.major + 1)
        elif low.minor > 0 or fixed == 2:
            high = Version(0, low.minor + 1)
        else:
            high = Version(0, 0, low.patch + 1)
        return lambda v: low <= v < high
    raise ValueError(f"unknown operator {op!r}")


@dataclass(frozen=True)
class Range:
    """A parsed constraint: alternatives (``||``) of conjunctions."""

    text: str
    alternatives: tuple[tuple[Check, ...], ...]
    allows_prerelease: bool

    def matches(self, version: Version) -> bool:
        """True when ``version`` satisfies the range (pre-releases only if the range names one)."""
        if version.pre and not self.allows_prerelease:
            return False
        return any(all(check(version) for check in group) for group in self.alternatives)

    def best(self, tags: Iterable[str]) -> str | None:
        """The tag with the highest version that matches, as Flux picks it; None if none does."""
        found: list[tuple[Version, str]] = []
        for tag in tags:
            try:
                version = Version.parse(tag)
            except ValueError:
                continue
            if self.matches(version):
                found.append((version, tag))
        return max(found, key=lambda pair: pair[0])[1] if found else None


def parse_range(text: str) -> Range:
    """Parse a Masterminds semver constraint or raise ``ValueError`` saying what is wrong."""
    if not text.strip():
        raise ValueError("a semver range cannot be empty")
    alternatives: list[tuple[Check, ...]] = []
    for alternative in text.split("||"):
        group = alternative.strip()
        if not group:
            raise ValueError(f"empty alternative in {text!r}")
        hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", group)
        if hyphen:
            alternatives.append((_single(">=", hyphen.group(1)), _single("<=", hyphen.group(2))))
            continue
        checks: list[Check] = []
        pos = 0
        group = group.replace(",", " ")
        while pos < len(group):
            match = _OP.match(group, pos)
            if match is None or match.end() == pos:
                raise ValueError(f"cannot parse {group[pos:]!r} in {text!r}")
            checks.append(_single(match.group("op") or "", match.group("ver")))
            pos = match.end()
        alternatives.append(tuple(checks))
    return Range(text, tuple(alternatives), allows_prerelease="-" in text.replace(" - ", " "))
