"""The FluxConfig custom resource read back: its spec, its protected settings, its status, drift.

The in-cluster reconciler (``reconciler/``) calls these pure functions; they
are the inverse of ``fluxgitops.render.fluxconfig.fluxconfig_spec`` plus the
decisions the reconciler makes about what it owns and what it reports.

Protected settings — the decision: the ``<config>-auth`` Secret named by
``spec.protectedSettingsRef`` belongs to whoever applied the FluxConfig (the
dynamic provider / Pulumi, which holds the secret values). The reconciler only
*reads* it and merges its values back into the spec where the spec needs them
(validation needs ``httpsKey`` next to ``httpsUser``, an Azure Blob needs its
one auth method, an inline SSH key means "do not generate one"); it never
writes, relabels or prunes it — re-applying values it read could undo a
credential rotation racing with it, and it could not restore the values if the
Secret were deleted. The one exception is a generated SSH key
(``generateSshKey: true``): then the reconciler is the only writer of
``identity`` / ``identity.pub`` in that Secret (server-side apply shares the
other keys with the applier), and the private key never leaves the cluster.

Status: ``build_status`` turns the outcome of the last reconcile and the live
Flux objects into ``complianceState``, ``statuses[]``,
``sourceSyncedCommitId``, ``errorMessage``, ``observedGeneration`` and the
Ready / Reconciling / Stalled conditions (through
``fluxgitops.status.set_condition``, the one place conditions change).

Drift: ``view`` makes the compact copy the reconciler caches (of
``managedFields`` only who manages it and how, Secret values replaced by
digests); ``drifted`` says whether a live object no longer carries what was
applied.

Ownership: ``foreign_owner`` is the rule applied before every write — an
existing object is ours only when it carries our ``managed-by`` label and the
configuration labels of the object we render, and no field manager outside
fluxgitops server-side-applies it; otherwise the FluxConfig is Stalled with
``OwnershipConflict`` and the object is left alone. ``deletable`` is the rule
before every delete (our labels for that configuration). The inventory
(``status.inventory.entries[]``, Flux's ``<namespace>_<name>_<group>_<kind>``
ids) records what the reconciler applied: ``inventory_status`` /
``inventory_keys`` write and read it. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from fluxgitops.diff import SERVER_ANNOTATIONS, normalize, project
from fluxgitops.errors import FieldError, SpecError
from fluxgitops.kinds import FLUX_KINDS, SOURCE_KINDS
from fluxgitops.render.configuration import RenderOptions, render_configuration
from fluxgitops.render.manifest import SECRET_DATA_FIELDS, Manifest, ObjectKey
from fluxgitops.render.meta import (
    FIELD_MANAGER,
    LABEL_CONFIGURATION,
    LABEL_CONFIGURATION_NAMESPACE,
    LABEL_MANAGED_BY,
    auth_secret_name,
)
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.spec.importing import Imported
from fluxgitops.spec.parse import parse_configuration
from fluxgitops.spec.secrets import PROTECTED_SETTINGS
from fluxgitops.spec.sources import GitRepositorySource
from fluxgitops.sshkeys import SshIdentity, public_key_of
from fluxgitops.status import (
    COMPLIANT,
    NON_COMPLIANT,
    PENDING,
    SUSPENDED,
    Compliance,
    compliance,
    set_condition,
    status_entry,
    synced_commit,
)

CR_ONLY_FIELDS = ("multiTenancy", "generateSshKey", "protectedSettingsRef")
"""Keys of the CR spec that are not part of the configuration itself."""

FINALIZER = "fluxgitops.io/finalizer"
ANNOTATION_FORCE_FINALIZE = "fluxgitops.io/force-finalize"
"""Escape hatch: ``"true"`` removes the finalizer at once, leaving the objects behind."""
ANNOTATION_REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
"""Flux's convention: a changed value asks for a reconcile now."""

REASON_SUCCEEDED = "ReconciliationSucceeded"
REASON_FAILED = "ReconciliationFailed"
REASON_PROGRESSING = "Progressing"
REASON_RETRY = "ProgressingWithRetry"
REASON_INVALID = "ValidationFailed"
REASON_APPLY_FAILED = "ApplyFailed"
REASON_SUSPENDED = "Suspended"
REASON_OWNERSHIP_CONFLICT = "OwnershipConflict"

RECONCILER_FIELD_MANAGER = f"{FIELD_MANAGER}-reconciler"
"""The reconciler's server-side apply field manager (the provider's is ``FIELD_MANAGER``)."""

Phase = Literal["applied", "invalid", "rejected", "conflict", "retrying", "suspended"]


def subject(namespace: str, name: str) -> str:
    """How messages name a FluxConfig."""
    return f"FluxConfig {namespace}/{name}"


# ---------------------------------------------------------------- CR → spec


@dataclass(frozen=True)
class DesiredConfiguration:
    """A FluxConfig read back: the validated spec and what the CR adds to it."""

    spec: FluxConfigurationSpec
    multi_tenancy: bool
    generate_ssh_key: bool
    protected_settings: str | None
    """The applier-owned Secret named by ``protectedSettingsRef`` (None when there is none)."""

    @property
    def auth_secret(self) -> ObjectKey:
        """The key of the ``<config>-auth`` Secret."""
        return ObjectKey("v1", "Secret", self.spec.namespace, auth_secret_name(self.spec.name))


def decode_secret_data(data: Mapping[str, Any] | None) -> dict[str, str]:
    """A Secret's ``data`` decoded from base64 (undecodable values are left out)."""
    out: dict[str, str] = {}
    for key, value in (data or {}).items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    return out


def protected_settings_ref(cr_spec: Mapping[str, Any]) -> str | None:
    """The Secret named by ``spec.protectedSettingsRef`` (None when there is none)."""
    ref = cr_spec.get("protectedSettingsRef")
    if isinstance(ref, Mapping) and isinstance(ref.get("name"), str) and ref["name"]:
        return str(ref["name"])
    return None


def secret_to_read(name: str, cr_spec: Mapping[str, Any]) -> str | None:
    """The Secret a reconcile must read: the protected settings, or where a generated key lives."""
    ref = protected_settings_ref(cr_spec)
    if ref is None and cr_spec.get("generateSshKey") is True:
        return auth_secret_name(name)
    return ref


def merge_protected_settings(
    cr_spec: Mapping[str, Any], secret_data: Mapping[str, str], *, generated_key: bool
) -> dict[str, Any]:
    """``cr_spec`` with the secret values of ``secret_data`` put back into the source block.

    A value goes back only into a block (and sub-block) the spec already has;
    with ``generated_key`` the ``identity`` is the reconciler's own key, not input.
    """
    raw: dict[str, Any] = copy.deepcopy(dict(cr_spec))
    for block, fields in PROTECTED_SETTINGS.items():
        node = raw.get(block)
        if not isinstance(node, dict):
            continue
        for key, path in fields.items():
            if key not in secret_data or (generated_key and key == "identity"):
                continue
            *parents, leaf = path.split(".")
            target: Any = node
            for part in parents:
                target = target.get(part) if isinstance(target, dict) else None
            if isinstance(target, dict):
                target[leaf] = secret_data[key]
    return raw


def configuration_from_cr(
    name: str,
    namespace: str,
    cr_spec: Mapping[str, Any] | None,
    secret_data: Mapping[str, str] | None = None,
) -> DesiredConfiguration:
    """The configuration a FluxConfig describes; ``SpecError`` naming every problem.

    ``secret_data`` is the decoded protected-settings Secret (None when there is none).
    """
    where = subject(namespace, name)
    if not isinstance(cr_spec, Mapping):
        raise SpecError(where, [FieldError("spec", "must be a mapping")])
    problems: list[FieldError] = []
    tenancy = cr_spec.get("multiTenancy")
    enforce = tenancy.get("enforce", True) if isinstance(tenancy, Mapping) else True
    if not isinstance(enforce, bool):
        problems.append(FieldError("multiTenancy.enforce", "must be true or false", repr(enforce)))
    generate = cr_spec.get("generateSshKey", False)
    if not isinstance(generate, bool):
        problems.append(FieldError("generateSshKey", "must be true or false", repr(generate)))
    raw = {k: v for k, v in cr_spec.items() if k not in CR_ONLY_FIELDS}
    raw = merge_protected_settings(raw, secret_data or {}, generated_key=generate is True)
    raw.update({"name": name, "namespace": namespace})
    try:
        spec = parse_configuration(raw)
    except SpecError as exc:
        raise SpecError(where, [*exc.errors, *problems]) from None
    if problems:
        raise SpecError(where, problems)
    source = spec.source
    return DesiredConfiguration(
        spec=spec,
        multi_tenancy=bool(enforce),
        generate_ssh_key=isinstance(source, GitRepositorySource) and source.generates_ssh_key,
        protected_settings=protected_settings_ref(cr_spec),
    )


def identity_from_secret(secret_data: Mapping[str, str] | None) -> SshIdentity | None:
    """The generated key kept in the auth Secret, or None when absent or unreadable."""
    private = (secret_data or {}).get("identity")
    if not private:
        return None
    try:
        return SshIdentity(SecretStr(private), public_key_of(private))
    except (ValueError, TypeError):
        return None


def owned_manifests(
    desired: DesiredConfiguration, identity: SshIdentity | None = None
) -> list[Manifest]:
    """What the reconciler applies, in order: the render without the FluxConfig and without the
    applier-owned auth Secret (kept only when it carries the generated key)."""
    manifests = render_configuration(
        desired.spec,
        RenderOptions(
            multi_tenancy=desired.multi_tenancy, ssh_identity=identity, include_fluxconfig=False
        ),
    )
    if desired.generate_ssh_key and identity is not None:
        return manifests
    return [m for m in manifests if m.key != desired.auth_secret]


def owner_of(labels: Mapping[str, str] | None) -> tuple[str, str | None] | None:
    """``(namespace, configuration)`` from an object's labels; configuration None when shared."""
    labels = labels or {}
    namespace = labels.get(LABEL_CONFIGURATION_NAMESPACE)
    if not namespace:
        return None
    return namespace, labels.get(LABEL_CONFIGURATION)


# ---------------------------------------------------------------- drift


_KEPT_METADATA = (
    "name",
    "namespace",
    "labels",
    "annotations",
    "generation",
    "resourceVersion",
    "deletionTimestamp",
    "finalizers",
)


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:32]


_KEPT_FLUX_STATUS = ("observedGeneration", "conditions", "artifact")
_KEPT_ARTIFACT = ("revision", "lastUpdateTime")


def _flux_status(status: Mapping[str, Any]) -> dict[str, Any]:
    """What compliance needs of a Flux object's status: of a Kustomization's inventory only the
    Flux objects it applied (HelmReleases …), whose status ``statuses[]`` reports."""
    out = {k: status[k] for k in _KEPT_FLUX_STATUS if k in status}
    if isinstance(out.get("artifact"), Mapping):
        out["artifact"] = {k: v for k, v in out["artifact"].items() if k in _KEPT_ARTIFACT}
    entries = (
        (status.get("inventory") or {}).get("entries") if isinstance(status, Mapping) else None
    )
    flux = [
        e
        for e in entries or []
        if isinstance(e, Mapping) and str(e.get("id", "")).rsplit("_", 1)[-1] in FLUX_KINDS
    ]
    if flux:
        out["inventory"] = {"entries": flux}
    return out


def _managers(meta: Mapping[str, Any]) -> list[dict[str, str]]:
    """``managedFields`` reduced to who writes the object itself (not its status) and how."""
    out: list[dict[str, str]] = []
    for entry in meta.get("managedFields") or []:
        if not isinstance(entry, Mapping) or entry.get("subresource"):
            continue
        item = {
            "manager": str(entry.get("manager", "")),
            "operation": str(entry.get("operation") or ""),
        }
        if item not in out:
            out.append(item)
    return out


def view(body: Mapping[str, Any]) -> dict[str, Any]:
    """A compact copy to cache and compare: of ``managedFields`` only manager and operation,
    Secret values as digests, of a Flux object's status only what compliance reads."""
    out = {k: v for k, v in body.items() if k != "metadata"}
    if body.get("kind") in FLUX_KINDS and isinstance(out.get("status"), Mapping):
        out["status"] = _flux_status(out["status"])
    meta = body.get("metadata") or {}
    kept = {k: meta[k] for k in _KEPT_METADATA if meta.get(k) is not None}
    managers = _managers(meta)
    if managers:
        kept["managedFields"] = managers
    if "annotations" in kept:
        kept["annotations"] = {
            k: v for k, v in kept["annotations"].items() if k not in SERVER_ANNOTATIONS
        }
    out["metadata"] = kept
    if body.get("kind") == "Secret" and body.get("apiVersion") == "v1":
        for section in SECRET_DATA_FIELDS:
            if isinstance(out.get(section), Mapping):
                out[section] = {k: _digest(v) for k, v in out[section].items()}
    return out


def drifted(live: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """True when ``live`` no longer carries a field of ``desired`` (both ``view``s)."""
    want = normalize(desired)
    return bool(project(normalize(live), want) != want)


def resource_version(body: Mapping[str, Any] | None) -> int:
    """The ``metadata.resourceVersion`` as a number for ordering (0 when absent or opaque)."""
    text = str(((body or {}).get("metadata") or {}).get("resourceVersion") or "")
    return int(text) if text.isdigit() else 0


# ---------------------------------------------------------------- status


@dataclass(frozen=True)
class Outcome:
    """What the last full reconcile of a FluxConfig came to, for ``generation``."""

    phase: Phase
    generation: int
    message: str = ""
    applied: int = 0


def _placeholder(key: ObjectKey) -> dict[str, Any]:
    return {
        "apiVersion": key.api_version,
        "kind": key.kind,
        "metadata": {"name": key.name, "namespace": key.namespace},
    }


Deployed = tuple[ObjectKey, Mapping[str, Any] | None, tuple[str, str]]
"""A Flux object a Kustomization applied (from its inventory), its live copy, and the
Kustomization (namespace, name) that applied it."""


def object_statuses(
    flux: Sequence[tuple[ObjectKey, Mapping[str, Any] | None]],
    now: str,
    deployed: Sequence[Deployed] = (),
) -> list[dict[str, Any]]:
    """``statuses[]``: each rendered Flux object, then each Flux object the Kustomizations
    applied (with ``appliedBy`` and, for HelmReleases, ``helmReleaseProperties``)."""
    out = [
        status_entry(k.api_version, k.kind, k.namespace, k.name, live, now=now) for k, live in flux
    ]
    out.extend(
        status_entry(k.api_version, k.kind, k.namespace, k.name, live, applied_by=by, now=now)
        for k, live, by in deployed
    )
    return out


Cond = tuple[bool | None, str, str]
"""A condition's status (None = Unknown), reason and message."""


@dataclass(frozen=True)
class Verdict:
    """What a status says: compliance, error message, and the three conditions."""

    compliance_state: str
    error: str
    ready: Cond
    reconciling: Cond
    stalled: Cond


def verdict(outcome: Outcome, state: Compliance, has_flux: bool) -> Verdict:
    """The compliance and conditions for ``outcome`` given the Flux objects' ``state``."""
    if outcome.phase in ("invalid", "rejected", "conflict"):
        reason = {"invalid": REASON_INVALID, "conflict": REASON_OWNERSHIP_CONFLICT}.get(
            outcome.phase, REASON_APPLY_FAILED
        )
        return Verdict(
            NON_COMPLIANT,
            outcome.message,
            (False, reason, outcome.message),
            (False, reason, "reconciliation stalled"),
            (True, reason, outcome.message),
        )
    if outcome.phase == "suspended":
        message = "reconciliation is suspended (spec.suspend: true)"
        return Verdict(
            SUSPENDED,
            "",
            (None, REASON_SUSPENDED, message),
            (False, REASON_SUSPENDED, message),
            (False, REASON_SUSPENDED, message),
        )
    if outcome.phase == "retrying":
        return Verdict(
            state.state if has_flux else PENDING,
            outcome.message,
            (None, REASON_RETRY, outcome.message),
            (True, REASON_RETRY, outcome.message),
            (False, REASON_RETRY, "retrying"),
        )
    applied = f"Applied {outcome.applied} objects"
    if state.state == COMPLIANT:
        return Verdict(
            COMPLIANT,
            "",
            (True, REASON_SUCCEEDED, f"{applied}; {state.message}"),
            (False, REASON_SUCCEEDED, applied),
            (False, REASON_SUCCEEDED, applied),
        )
    if state.state == NON_COMPLIANT:
        return Verdict(
            NON_COMPLIANT,
            state.message,
            (False, REASON_FAILED, state.message),
            (False, REASON_FAILED, applied),
            (False, REASON_FAILED, applied),
        )
    # Pending, or every Flux object suspended by hand
    return Verdict(
        state.state,
        "",
        (None, REASON_PROGRESSING, f"{applied}; {state.message}"),
        (True, REASON_PROGRESSING, state.message),
        (False, REASON_PROGRESSING, applied),
    )


def build_status(
    previous: Mapping[str, Any] | None,
    *,
    outcome: Outcome,
    flux: Sequence[tuple[ObjectKey, Mapping[str, Any] | None]],
    deployed: Sequence[Deployed] = (),
    public_key: str = "",
    now: str,
) -> dict[str, Any]:
    """The FluxConfig ``status`` for ``outcome`` and the live Flux objects ``flux``.

    ``flux`` lists the rendered Flux objects (source first) with their live copy
    (None when not there yet, which counts as Pending); ``deployed`` the Flux
    objects their Kustomizations applied (HelmReleases …), which count towards
    compliance too. ``statusUpdatedAt`` moves only when something else changes.
    """
    prev = dict(previous or {})
    gen = outcome.generation
    objects = [live or _placeholder(key) for key, live in flux]
    objects += [live or _placeholder(key) for key, live, _ in deployed]
    found = verdict(outcome, compliance(objects), bool(flux))
    conditions: list[dict[str, Any]] = list(prev.get("conditions") or [])
    for kind, (value, reason, message) in (
        ("Ready", found.ready),
        ("Reconciling", found.reconciling),
        ("Stalled", found.stalled),
    ):
        conditions = set_condition(
            conditions, kind, value, reason=reason, message=message, generation=gen, now=now
        )
    status: dict[str, Any] = {
        "conditions": conditions,
        "complianceState": found.compliance_state,
        "errorMessage": found.error,
        "statuses": object_statuses(flux, now, deployed) if outcome.phase != "invalid" else [],
    }
    source = next((live for key, live in flux if key.kind in SOURCE_KINDS), None)
    commit = synced_commit(source)
    if commit:
        status["sourceSyncedCommitId"] = commit
        artifact = ((source or {}).get("status") or {}).get("artifact") or {}
        if artifact.get("lastUpdateTime"):
            status["sourceUpdatedAt"] = str(artifact["lastUpdateTime"])
    if public_key:
        status["repositoryPublicKey"] = public_key
    if outcome.phase != "retrying":
        status["observedGeneration"] = gen
    elif "observedGeneration" in prev:
        status["observedGeneration"] = prev["observedGeneration"]
    changed = status_changed(prev, status)
    status["statusUpdatedAt"] = now if changed else str(prev.get("statusUpdatedAt") or now)
    return status


def status_changed(previous: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when ``new`` says something ``previous`` does not (``statusUpdatedAt`` aside)."""
    ignored = ("statusUpdatedAt",)
    before = {k: v for k, v in previous.items() if k not in ignored}
    after = {k: v for k, v in new.items() if k not in ignored}
    return before != after


def status_patch(previous: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch turning status ``previous`` into ``new`` (removed keys set to null)."""
    patch: dict[str, Any] = {k: None for k in previous if k not in new}
    patch.update(new)
    return patch


def stale_keys(
    live: Iterable[ObjectKey], desired: Iterable[ObjectKey], keep: Iterable[ObjectKey] = ()
) -> list[ObjectKey]:
    """Live keys of a configuration that are no longer rendered (``keep`` is never stale)."""
    wanted = set(desired) | set(keep)
    return sorted(key for key in set(live) if key not in wanted)


def flux_keys(manifests: Iterable[Manifest]) -> list[ObjectKey]:
    """The keys of the Flux objects among ``manifests``, in order."""
    return [m.key for m in manifests if m.key.kind in FLUX_KINDS]


# ---------------------------------------------------------------- ownership


OWNER_LABELS = (LABEL_MANAGED_BY, LABEL_CONFIGURATION, LABEL_CONFIGURATION_NAMESPACE)
"""The labels that say which configuration (or namespace, for shared objects) owns an object."""


def _labels(body: Mapping[str, Any] | None) -> Mapping[str, str]:
    labels: Mapping[str, str] = ((body or {}).get("metadata") or {}).get("labels") or {}
    return labels


def owner_labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    """Only the ownership labels of ``labels``."""
    return {k: str(v) for k, v in (labels or {}).items() if k in OWNER_LABELS}


def is_our_manager(manager: str) -> bool:
    """True for the provider's and every reconciler replica's field manager."""
    return manager == FIELD_MANAGER or manager.startswith(f"{FIELD_MANAGER}-")


def _describe_labels(labels: Mapping[str, str]) -> str:
    managed_by = labels.get(LABEL_MANAGED_BY)
    namespace = labels.get(LABEL_CONFIGURATION_NAMESPACE)
    config = labels.get(LABEL_CONFIGURATION)
    if managed_by == "fluxgitops" and namespace and config:
        return f"{subject(namespace, config)} (by its labels)"
    if managed_by == "fluxgitops" and namespace:
        return f"the shared objects of namespace {namespace} (by its labels)"
    if managed_by:
        return f"{LABEL_MANAGED_BY}={managed_by!r}"
    return "no fluxgitops labels"


def foreign_owner(desired_labels: Mapping[str, str], live: Mapping[str, Any] | None) -> str | None:
    """Who owns ``live`` when it is not ours to write (None when absent or ours).

    Ours means: the ownership labels equal those we render (``desired_labels``)
    and every field manager that server-side-applies it is ours. Hand edits
    (``Update`` by kubectl and the like) of our objects are drift, healed by
    the next apply; a foreign ``Apply`` manager is another declarative owner.
    """
    if live is None:
        return None
    labels = owner_labels(_labels(live))
    managers = _managers(live.get("metadata") or {})
    appliers = sorted(
        {m["manager"] for m in managers if m["operation"] == "Apply"}
        - {m["manager"] for m in managers if is_our_manager(m["manager"])}
    )
    if labels == owner_labels(desired_labels) and not appliers:
        return None
    others = sorted({m["manager"] for m in managers if not is_our_manager(m["manager"])})
    shown = appliers or others
    parts = [] if labels == owner_labels(desired_labels) else [_describe_labels(labels)]
    if shown:
        parts.append("field manager " + ", ".join(repr(m) for m in shown))
    return "; ".join(parts)


def deletable(
    expected_labels: Mapping[str, str], live: Mapping[str, Any] | None, *, recorded: bool
) -> bool:
    """True when ``live`` is ours to delete: it still carries the ownership labels we gave it,
    and we applied it — ``recorded`` in the inventory, or written by one of our field managers
    (applied before a crash could record it). An object someone else labelled is not."""
    if live is None or owner_labels(_labels(live)) != owner_labels(expected_labels):
        return False
    managers = _managers(live.get("metadata") or {})
    return recorded or any(is_our_manager(m["manager"]) for m in managers)


# ---------------------------------------------------------------- inventory


def inventory_id(key: ObjectKey) -> str:
    """Flux's inventory id: ``<namespace>_<name>_<group>_<kind>`` (empty group for core)."""
    group = key.api_version.rpartition("/")[0]
    return f"{key.namespace}_{key.name}_{group}_{key.kind}"


def inventory_status(keys: Iterable[ObjectKey]) -> dict[str, Any]:
    """``status.inventory``: one ``{id, v}`` entry per applied object, sorted by id (as Flux)."""
    entries = {
        inventory_id(k): {"id": inventory_id(k), "v": k.api_version.rpartition("/")[2]}
        for k in keys
    }
    return {"entries": [entries[i] for i in sorted(entries)]}


def inventory_keys(status: Mapping[str, Any] | None) -> list[ObjectKey]:
    """The keys a ``status.inventory`` lists (malformed entries are left out)."""
    inventory = (status or {}).get("inventory")
    entries = inventory.get("entries") if isinstance(inventory, Mapping) else None
    keys: list[ObjectKey] = []
    for entry in entries or []:
        if not isinstance(entry, Mapping):
            continue
        parts = str(entry.get("id", "")).split("_")
        version = str(entry.get("v") or "")
        if len(parts) != 4 or not parts[1] or not parts[3] or not version:
            continue
        namespace, name, group, kind = parts
        keys.append(ObjectKey(f"{group}/{version}" if group else version, kind, namespace, name))
    return keys


def with_inventory(status: Mapping[str, Any], keys: Iterable[ObjectKey]) -> dict[str, Any]:
    """``status`` with ``inventory`` listing ``keys`` (what the reconciler applied)."""
    return {**status, "inventory": inventory_status(keys)}


# ---------------------------------------------------------------- CR → stack entry


def entry_from_fluxconfig(body: Mapping[str, Any], secret_data: Mapping[str, str]) -> Imported:
    """A stack entry from a live FluxConfig and its decoded protected-settings Secret.

    The inverse of what the provider applies: the CR's spec without the keys
    only the CR has, named and namespaced as the object; each secret value the
    Secret holds comes back apart, by the dotted path of its field (for
    ``pulumi config set --secret``). A generated SSH key is not the user's
    input and is left out (``generateSshKey``).
    """
    meta = body.get("metadata") or {}
    spec = dict(body.get("spec") or {})
    entry: dict[str, Any] = {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        **{k: copy.deepcopy(v) for k, v in spec.items() if k not in CR_ONLY_FIELDS},
    }
    generated = spec.get("generateSshKey") is True
    secrets: dict[str, str] = {}
    for block, fields in PROTECTED_SETTINGS.items():
        if not isinstance(entry.get(block), Mapping):
            continue
        for key, path in fields.items():
            if key in secret_data and not (generated and key == "identity"):
                secrets[f"{block}.{path}"] = secret_data[key]
    dropped = [k for k in CR_ONLY_FIELDS if k in spec]
    return Imported(entry, secrets, dropped)
