"""ARM ``fluxConfigurations`` GET bodies → what ``status`` prints and what ``fleet status`` folds.

An ``azure`` cluster's Flux status lives in ARM: the ``microsoft.flux``
extension's agent reports it into the ``fluxConfigurations`` resource
(``Microsoft.KubernetesConfiguration`` 2023-05-01 … 2025-04-01; properties
``complianceState``, ``errorMessage``, ``sourceSyncedCommitId``,
``sourceUpdatedAt``, ``statusUpdatedAt``, ``provisioningState`` and
``statuses[]`` of ``ObjectStatusDefinition`` with ``statusConditions[]`` of
``ObjectStatusConditionDefinition`` and ``helmReleaseProperties``).
``arm_status_document`` maps one body to the document
``fluxgitops_cli.statuscmd.status_document`` builds for ``kubernetes``
clusters (same keys, so the table, ``-o json|yaml`` and ``--watch`` work
unchanged; ``readFrom: ARM`` names the source of truth and
``appliedObjects`` is empty: ARM does not expose Flux's inventory).
``arm_observation`` maps it to the roll-up's ``fluxgitops.rollup.Observation``
with ``statusUpdatedAt`` as the agent's last report (Stale after 48 h, like
Azure's disconnect; the document says so too, ``stale``). Bodies are accepted
in ARM's REST shape (``properties`` nested) or as azure-native's invoke
flattens them. Used by
``fluxgitops_cli.statuscmd`` and ``fluxgitops_cli.fleet`` through
``components.arm_read``. Pure: no I/O, no Pulumi.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fluxgitops.fluxconfig.vocabulary import READY
from fluxgitops.rollup import STALE, Observation, cluster_verdict
from fluxgitops.spec.rules import SOURCE_BLOCKS
from fluxgitops.status import (
    COMPLIANCE_STATES,
    COMPLIANT,
    NON_COMPLIANT,
    PENDING,
    SUSPENDED,
    UNKNOWN,
)

READ_FROM_ARM = "ARM"
"""The ``readFrom`` of a document read from ARM (kubernetes documents have none)."""

FAILED_PROVISIONING = ("Failed", "Canceled")
"""``provisioningState`` values meaning ARM never got the configuration onto the cluster."""

_CONDITION_STATUSES = ("True", "False", "Unknown")


def properties(body: Mapping[str, Any]) -> Mapping[str, Any]:
    """The configuration's properties: ``body.properties`` (REST) or the body itself (invoke)."""
    nested = body.get("properties")
    return nested if isinstance(nested, Mapping) else body


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _state(value: Any, where: str) -> tuple[str, str]:
    """A compliance word, or Unknown with a message quoting what ARM sent instead."""
    if value in COMPLIANCE_STATES:
        return str(value), ""
    if value is None or value == "":
        return UNKNOWN, f"{where}: ARM reported no complianceState yet"
    return UNKNOWN, (
        f"{where}: complianceState {value!r} is not one of {', '.join(COMPLIANCE_STATES)}"
    )


def _condition(cond: Mapping[str, Any]) -> dict[str, Any]:
    status = cond.get("status")
    return {
        "type": _text(cond.get("type")),
        "status": status if status in _CONDITION_STATUSES else "Unknown",
        "lastTransitionTime": _text(cond.get("lastTransitionTime")),
        "reason": _text(cond.get("reason")),
        "message": _text(cond.get("message")),
    }


def _helm(props: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "lastRevisionApplied": int(props.get("lastRevisionApplied") or 0),
        "failureCount": int(props.get("failureCount") or 0),
        "installFailureCount": int(props.get("installFailureCount") or 0),
        "upgradeFailureCount": int(props.get("upgradeFailureCount") or 0),
    }
    ref = props.get("helmChartRef")
    if isinstance(ref, Mapping):
        found["helmChartRef"] = {
            "name": _text(ref.get("name")),
            "namespace": _text(ref.get("namespace")),
        }
    return found


def status_entries(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """ARM's ``statuses[]`` as ``statuscmd`` rows (``fluxgitops.status.status_entry`` keys;
    ``apiVersion`` is empty: ARM does not report it)."""
    entries: list[dict[str, Any]] = []
    for item in properties(body).get("statuses") or []:
        if not isinstance(item, Mapping):
            continue
        kind, name = _text(item.get("kind")), _text(item.get("name"))
        state, _ = _state(item.get("complianceState"), f"{kind}/{name}")
        entry: dict[str, Any] = {
            "name": name,
            "namespace": _text(item.get("namespace")),
            "kind": kind,
            "apiVersion": "",
            "complianceState": state,
            "statusConditions": [
                _condition(c) for c in item.get("statusConditions") or [] if isinstance(c, Mapping)
            ],
        }
        by = item.get("appliedBy")
        if isinstance(by, Mapping):
            entry["appliedBy"] = {
                "namespace": _text(by.get("namespace")),
                "name": _text(by.get("name")),
            }
        helm = item.get("helmReleaseProperties")
        if isinstance(helm, Mapping):
            entry["helmReleaseProperties"] = _helm(helm)
        entries.append(entry)
    return entries


def _failing(entries: list[dict[str, Any]], state: str) -> str:
    """The first object in ``state`` and its Ready message, ``Kustomization/apps: …``."""
    for entry in entries:
        if entry["complianceState"] != state:
            continue
        ready = next((c for c in entry["statusConditions"] if c["type"] == READY), None)
        detail = f": {ready['message']}" if ready and ready["message"] else ""
        return f"{entry['kind']}/{entry['name']}{detail}"
    return ""


def compliance(body: Mapping[str, Any], label: str) -> tuple[str, str]:
    """The configuration's state and the message that explains it.

    ``provisioningState`` Failed/Canceled is Non-Compliant (ARM never delivered
    it); otherwise ARM's ``complianceState``, explained by ``errorMessage`` or
    the first object in that state with its Ready message."""
    props = properties(body)
    provisioning = _text(props.get("provisioningState"))
    error = _text(props.get("errorMessage"))
    if provisioning in FAILED_PROVISIONING:
        return NON_COMPLIANT, f"provisioningState {provisioning}" + (f": {error}" if error else "")
    state, problem = _state(props.get("complianceState"), label)
    if problem:
        return state, problem
    if state == COMPLIANT:
        return state, ""
    why = error or _failing(status_entries(body), state)
    if state == SUSPENDED and not why:
        why = "reconciliation is suspended (suspend: true)"
    if state == PENDING and not why:
        why = f"provisioningState {provisioning or 'unknown'}; the agent has not reported yet"
    return state, why


def _source(props: Mapping[str, Any], name: str) -> dict[str, str]:
    kind = _text(props.get("sourceKind")) or "GitRepository"
    settings = props.get(SOURCE_BLOCKS.get(kind, "")) or {}
    entries = [e for e in status_entries(props) if e["kind"] == kind]
    ready: dict[str, Any] = next(
        (c for e in entries for c in e["statusConditions"] if c["type"] == READY), {}
    )
    return {
        "kind": kind,
        "name": name,
        "url": _text(settings.get("url")) if isinstance(settings, Mapping) else "",
        "ready": _text(ready.get("status")),
        "reason": _text(ready.get("reason")),
        "message": _text(ready.get("message")),
    }


def arm_status_document(
    cluster: str,
    namespace: str,
    name: str,
    body: Mapping[str, Any],
    now: datetime | None = None,
) -> dict[str, Any]:
    """One configuration read from ARM in ``statuscmd.status_document``'s shape, plus
    ``readFrom``, ARM's ``statusUpdatedAt`` / ``sourceUpdatedAt`` and ``stale``: with ``now``,
    True when the agent has not reported for longer than the roll-up's limit (the message
    then says so, in ``fluxgitops.rollup``'s words; the state stays ARM's last one)."""
    props = properties(body)
    namespace = _text(props.get("namespace")) or namespace
    state, message = compliance(body, f"fluxConfiguration {namespace}/{name}")
    stale = False
    if now is not None:
        verdict = cluster_verdict(
            cluster, [arm_observation(cluster, namespace, name, body)], now=now
        )
        if verdict.state == STALE:
            stale = True
            message = f"{message}; {verdict.message}" if message else verdict.message
    return {
        "cluster": cluster,
        "namespace": namespace,
        "name": name,
        "complianceState": state,
        "message": message,
        "source": _source(props, name),
        "sourceSyncedCommitId": _sha(_text(props.get("sourceSyncedCommitId"))),
        "statuses": status_entries(body),
        "appliedObjects": {},
        "readFrom": READ_FROM_ARM,
        "statusUpdatedAt": _text(props.get("statusUpdatedAt")),
        "sourceUpdatedAt": _text(props.get("sourceUpdatedAt")),
        "stale": stale,
    }


def _sha(revision: str) -> str:
    """``main@sha1:abc…`` / ``main/abc…`` (what the agent reports) → ``abc…``."""
    return revision.rsplit(":", 1)[-1].rsplit("/", 1)[-1] if revision else ""


def parse_time(value: Any) -> datetime | None:
    """An ARM timestamp (RFC 3339, ``Z`` or offset, optional fraction); None when absent or
    not a timestamp (the roll-up then treats the report as current)."""
    text = _text(value).strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def arm_observation(
    cluster: str,
    namespace: str,
    name: str,
    body: Mapping[str, Any],
    fleet: str | None = None,
) -> Observation:
    """One configuration read from ARM as the roll-up's observation (``statusUpdatedAt`` is
    when the cluster's agent last reported)."""
    props = properties(body)
    namespace = _text(props.get("namespace")) or namespace
    label = f"{namespace}/{name}"
    state, message = compliance(body, f"fluxConfiguration {label}")
    return Observation(
        cluster,
        label,
        state,
        message,
        fleet,
        True,
        parse_time(props.get("statusUpdatedAt")),
    )
