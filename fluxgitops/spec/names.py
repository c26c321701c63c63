"""Kubernetes name rules (DNS-1123 label and subdomain) and Azure's length limits.

Used by the spec models to validate names, and by tests to check every rendered
name. Pure: no I/O.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
# Azure: configuration name + kustomization name must fit in 62 characters,
# because the generated Kustomization is named "<config>-<kustomization>".
CONFIG_PLUS_KUSTOMIZATION_MAX = 62

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


DnsLabel = Annotated[str, AfterValidator(_label)]
"""A Kubernetes object name that must be a DNS-1123 label (≤ 63)."""

CrName = Annotated[str, AfterValidator(_cr_name)]
"""A fluxConfiguration or kustomization name: as the az CLI validates it (≤ 63, '.' allowed;
every object rendered from it is a DNS-1123 subdomain, every label value stays ≤ 63)."""

DnsSubdomain = Annotated[str, AfterValidator(_subdomain)]
"""A Kubernetes object name that must be a DNS-1123 subdomain (≤ 253)."""
