"""Kubernetes name rules (DNS-1123 label and subdomain), Azure's length limits, and our bounds.

Used by the spec models to validate names and sizes (the FluxConfig CRD schema
is derived from the same models, so the API server enforces the same maximum
lengths and counts), and by tests to check every rendered name. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from pydantic_core import PydanticCustomError

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
# Azure: configuration name + kustomization name must fit in 62 characters,
# because the generated Kustomization is named "<config>-<kustomization>".
CONFIG_PLUS_KUSTOMIZATION_MAX = 62

# Bounds (ours; Flux and Azure document none): large enough for real use, small enough that
# a FluxConfig and every object rendered from it stay far below the API server's 3 MiB
# request and etcd's 1.5 MiB object limits, and the reconciler's memory stays bounded.
MAX_URL = 2048
"""URLs and endpoints (what browsers and most Git hosts accept)."""
MAX_PATH = 4096
"""Kustomization paths (Linux PATH_MAX)."""
MAX_KUSTOMIZATIONS = 100
"""Kustomizations per configuration (Azure documents no limit)."""
MAX_SUBSTITUTIONS = 100
"""``postBuild.substitute`` variables per Kustomization."""
MAX_SUBSTITUTE_VALUE = 4096
"""Length of one substitution value."""
MAX_SUBSTITUTE_FROM = 20
"""``postBuild.substituteFrom`` entries per Kustomization."""
MAX_SHORT_TEXT = 1024
"""Short free text: user names, client ids, media types, regular expressions."""
MAX_TEXT = 65536
"""Long free text kept in the spec: known_hosts, CA certificates."""
MAX_SPEC_BYTES = 256 * 1024
"""A whole configuration, as JSON."""

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def is_dns1123_label(value: str) -> bool:
    """True for lower-case alphanumerics and '-', starting and ending alphanumeric, ≤ 63."""
    return len(value) <= DNS1123_LABEL_MAX and _LABEL.fullmatch(value) is not None


def is_dns1123_subdomain(value: str) -> bool:
    """True for dot-separated DNS-1123 labels, ≤ 253 characters in all."""
    return len(value) <= DNS1123_SUBDOMAIN_MAX and _SUBDOMAIN.fullmatch(value) is not None


def _label(value: str) -> str:
    if not is_dns1123_label(value):
        raise PydanticCustomError(
            "dns1123_label",
            "must be a DNS-1123 label: at most 63 lower-case letters, digits or '-', "
            "starting and ending with a letter or digit",
        )
    return value


def _subdomain(value: str) -> str:
    if not is_dns1123_subdomain(value):
        raise PydanticCustomError(
            "dns1123_subdomain",
            "must be a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' or '.', "
            "each part starting and ending with a letter or digit",
        )
    return value


_CR_NAME = re.compile(r"[a-z0-9]([-.a-z0-9]*[a-z0-9])?")


def _cr_name(value: str) -> str:
    if len(value) > DNS1123_LABEL_MAX or not _CR_NAME.fullmatch(value):
        raise PydanticCustomError(
            "cr_name",
            "must be at most 63 lower-case letters, digits, '-' or '.', starting and ending "
            "with a letter or digit (the az CLI's rule for configuration and kustomization names)",
        )
    return value


DnsLabel = Annotated[str, StringConstraints(max_length=DNS1123_LABEL_MAX), AfterValidator(_label)]
"""A Kubernetes object name that must be a DNS-1123 label (≤ 63)."""

CrName = Annotated[str, StringConstraints(max_length=DNS1123_LABEL_MAX), AfterValidator(_cr_name)]
"""A fluxConfiguration or kustomization name: as the az CLI validates it (≤ 63, '.' allowed;
every object rendered from it is a DNS-1123 subdomain, every label value stays ≤ 63)."""

DnsSubdomain = Annotated[
    str, StringConstraints(max_length=DNS1123_SUBDOMAIN_MAX), AfterValidator(_subdomain)
]
"""A Kubernetes object name that must be a DNS-1123 subdomain (≤ 253)."""

_MAX_KEY_SHOWN = 253
"""Longer keys (never valid names) are cut in paths and subjects; valid ones stay exact."""


def shorten_key(key: str) -> str:
    """A name or map key as it appears in a field path or subject: cut after 253 characters
    (longer than any valid name), with its length — an error about a huge key stays small."""
    if len(key) <= _MAX_KEY_SHOWN:
        return key
    return f"{key[:_MAX_KEY_SHOWN]}...({len(key)} characters)"


ShortText = Annotated[str, StringConstraints(max_length=MAX_SHORT_TEXT)]
"""Free text of at most ``MAX_SHORT_TEXT`` characters."""

LongText = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
"""Free text of at most ``MAX_TEXT`` characters."""


def max_length(limit: int) -> StringConstraints:
    """A string length bound (pydantic enforces it; it becomes ``maxLength`` in the CRD)."""
    return StringConstraints(max_length=limit)
