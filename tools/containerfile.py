"""The facts of ``deploy/Containerfile`` that ``tools/image.py`` builds from (pure, no I/O).

``parse_containerfile`` reads a two-stage Containerfile — a ``python:<X.Y>-slim-<codename>``
build stage and a ``distroless/python3-debian<N>`` final stage — into ``ImageFacts``: the Debian
release and Python version (both stages must agree), the build stage's ``COPY``s into ``/src``,
its ``ENV`` and its ``RUN`` steps (split on ``&&``; only the verbs in ``BUILD_VERBS``, which
``tools/image.py`` knows how to run without a container engine), and the final stage's ``ENV``,
numeric ``USER``, ``EXPOSE``, ``ENTRYPOINT`` and ``CMD``. Anything else is refused with the
instruction quoted, so the Containerfile and the daemonless build cannot drift apart silently.

Used by ``tools/image.py`` (build) and ``tests/deploy``.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field

DEBIAN_RELEASES = {"11": "bullseye", "12": "bookworm", "13": "trixie"}
"""Debian version → codename, to check the distroless tag against the build stage's codename."""
BUILD_VERBS = (("pip", "install"), ("rm", "-rf"), ("python", "-m"))
"""The build stage's RUN commands this script can run (``build_app``)."""


class ImageError(Exception):
    """The image cannot be built or checked; the message says what and what to do."""


@dataclass(frozen=True)
class ImageFacts:
    """What deploy/Containerfile says about the image."""

    python: str  # "3.11"
    codename: str  # "bookworm"
    uid: int
    gid: int
    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]
    exposed: list[str]
    copies: list[tuple[str, str]]  # build stage: (repo path, destination under /src)
    steps: list[list[str]]  # build stage RUN commands, split on &&
    build_env: dict[str, str] = field(default_factory=dict)


def _instructions(text: str) -> Iterator[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            word, _, rest = whole.partition(" ")
            yield word.upper(), rest.strip()


def _env_pairs(args: str) -> dict[str, str]:
    pairs = {}
    for token in shlex.split(args):
        key, sep, value = token.partition("=")
        if not sep:
            raise ImageError(f"Containerfile: ENV {args!r}: only KEY=VALUE pairs are supported")
        pairs[key] = value
    return pairs


def parse_containerfile(text: str) -> ImageFacts:
    """The facts of a Containerfile with one build stage and one final stage."""
    stages: list[tuple[str, list[tuple[str, str]]]] = []
    for word, args in _instructions(text):
        if word == "FROM":
            stages.append((args.split()[0], []))
        elif not stages:
            raise ImageError(f"Containerfile: {word} before the first FROM")
        else:
            stages[-1][1].append((word, args))
    if len(stages) != 2:
        raise ImageError(f"Containerfile: expected a build and a final stage, found {len(stages)}")
    (build_base, build), (final_base, final) = stages
    match = re.search(r"python:(\d+\.\d+)-slim-([a-z]+)", build_base)
    if not match:
        raise ImageError(
            f"Containerfile: build base {build_base!r} is not python:<X.Y>-slim-<codename>"
        )
    python, codename = match.groups()
    debian = re.search(r"debian(\d+)", final_base)
    if not debian or DEBIAN_RELEASES.get(debian.group(1)) != codename:
        raise ImageError(
            f"Containerfile: final base {final_base!r} is not Debian {codename} "
            f"(the build stage's {build_base!r}); both stages must use one Debian release"
        )
    copies, steps, build_env = [], [], {}
    for word, args in build:
        if word == "COPY":
            *sources, dest = shlex.split(args)
            copies += [
                (src, f"{dest.rstrip('/')}/{src}" if dest.endswith("/") else dest)
                for src in sources
            ]
        elif word == "RUN":
            for part in args.split("&&"):
                argv = shlex.split(part)
                if tuple(argv[:2]) not in BUILD_VERBS:
                    raise ImageError(
                        f"Containerfile: RUN {shlex.join(argv)!r} is not supported here "
                        f"(only {', '.join(' '.join(verb) for verb in BUILD_VERBS)})"
                    )
                steps.append(argv)
        elif word == "ENV":
            build_env.update(_env_pairs(args))
        else:
            raise ImageError(f"Containerfile: build stage {word} is not supported here")
    env: dict[str, str] = {}
    user, exposed = "", []
    entrypoint: list[str] = []
    cmd: list[str] = []
    for word, args in final:
        if word == "ENV":
            env.update(_env_pairs(args))
        elif word == "USER":
            user = args
        elif word in ("ENTRYPOINT", "CMD"):
            value = [str(item) for item in json.loads(args)]
            entrypoint, cmd = (value, cmd) if word == "ENTRYPOINT" else (entrypoint, value)
        elif word == "EXPOSE":
            exposed += args.split()
        elif word != "COPY":  # the final stage copies /app from the build stage
            raise ImageError(f"Containerfile: final stage {word} is not supported here")
    ids = re.fullmatch(r"(\d+):(\d+)", user)
    if not ids:
        raise ImageError(f"Containerfile: USER {user!r} must be numeric uid:gid")
    return ImageFacts(
        python=python,
        codename=codename,
        uid=int(ids.group(1)),
        gid=int(ids.group(2)),
        env=env,
        entrypoint=entrypoint,
        cmd=cmd,
        exposed=exposed,
        copies=copies,
        steps=steps,
        build_env=build_env,
    )
