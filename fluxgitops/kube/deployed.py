"""Read one configuration as it runs: its Flux objects, what they applied, and its compliance.

``read_configuration`` fetches the FluxConfig, the source and Kustomizations
the configuration owns (rendered, plus what the FluxConfig's
``status.inventory`` records), and the Flux objects those Kustomizations
applied (found in Flux's own ``status.inventory``: HelmReleases, nested
Kustomizations), and keeps every applied object's key per Kustomization — what
``az k8s-configuration flux deployed-object list`` shows.
``wait_for_compliance`` polls it until the configuration is Compliant, fails
with the failing Flux object's own message when it stays Non-Compliant, or
times out; it reports progress through a callback; ``read_deployed`` gives the
reconciler the Flux objects its Kustomizations applied. The decisions
(compliance, ``statuses[]``) are the pure functions of ``fluxgitops.status``.
Called by the FluxConfiguration dynamic provider (``pulumi up`` waits),
``components.automation`` (the wait after ``up``, ``fluxgitops status``) and
the reconciler's status.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from lightkube import Client

from fluxgitops import render
from fluxgitops.errors import ReconciliationError, ReconciliationTimeoutError
from fluxgitops.fluxconfig.ownership import owned_keys
from fluxgitops.kinds import FLUX_KINDS, SOURCE_KINDS
from fluxgitops.kube.apply import read_object, read_objects
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import FLUXCONFIG_KIND
from fluxgitops.status import (
    COMPLIANT,
    NON_COMPLIANT,
    Applied,
    Compliance,
    applied_flux_objects,
    configuration_compliance,
    inventory,
    status_entry,
    synced_commit,
)

if TYPE_CHECKING:  # the models load with the renderer, on the first read
    from fluxgitops.spec import FluxConfigurationSpec

DEFAULT_WAIT = timedelta(minutes=10)
"""``reconciliationWaitDuration`` when ``waitForReconciliation`` is on and no duration is given."""
POLL_SECONDS = 1.0
FAILURE_GRACE_SECONDS = 10.0
"""How long a failure must stand (the object Non-Compliant, or retrying it, with no other object
pending instead) before a wait fails on it: Flux reports short-lived failures while objects come
up (a HelmChart not built yet), which it retries by itself."""


@dataclass
class LiveConfiguration:
    """One configuration read from the cluster."""

    spec: FluxConfigurationSpec
    reconciler: bool
    fluxconfig: dict[str, Any] | None
    flux: list[tuple[ObjectKey, dict[str, Any] | None]]
    """The rendered Flux objects (source first), live copy or None."""
    deployed: list[tuple[ObjectKey, dict[str, Any] | None, tuple[str, str]]]
    """Flux objects the Kustomizations applied, live copy, and the applying Kustomization."""
    applied: dict[str, list[Applied]] = field(default_factory=dict)
    """Kustomization name → every object it applied (its inventory)."""

    @property
    def source(self) -> dict[str, Any] | None:
        """The live source object."""
        return next((live for key, live in self.flux if key.kind in SOURCE_KINDS), None)

    @property
    def commit(self) -> str:
        """The commit the source has fetched ('' before the first fetch)."""
        return synced_commit(self.source)

    def compliance(self) -> Compliance:
        """The configuration's verdict (``fluxgitops.status.configuration_compliance``)."""
        objects = [live for _, live in self.flux if live is not None]
        objects += [live for _, live, _ in self.deployed if live is not None]
        missing = [key for key, live in self.flux if live is None]
        found = configuration_compliance(self.fluxconfig, objects, reconciler=self.reconciler)
        if missing and found.state == COMPLIANT:
            return Compliance("Pending", f"{missing[0].kind}/{missing[0].name}: not created yet")
        return found

    def statuses(self, now: str) -> list[dict[str, Any]]:
        """Azure's ``statuses[]`` for this configuration."""
        out = [
            status_entry(k.api_version, k.kind, k.namespace, k.name, live, now=now)
            for k, live in self.flux
        ]
        out += [
            status_entry(k.api_version, k.kind, k.namespace, k.name, live, applied_by=by, now=now)
            for k, live, by in self.deployed
        ]
        return out


def read_configuration(
    client: Client, spec: FluxConfigurationSpec, *, multi_tenancy: bool, reconciler: bool
) -> LiveConfiguration:
    """Read the FluxConfig, the Flux objects the configuration owns (rendered, and those its
    ``status.inventory`` still records: ``fluxconfig.ownership.owned_keys``) and what their
    Kustomizations applied. A rendered object not there yet is kept (None: Pending); an
    inventory entry already gone is left out."""
    manifests = render.render_configuration(spec, render.RenderOptions(multi_tenancy=multi_tenancy))
    fluxconfig_key = next(m.key for m in manifests if m.key.kind == FLUXCONFIG_KIND)
    fluxconfig = read_object(client, fluxconfig_key)
    rendered = [m.key for m in manifests if m.key.kind in FLUX_KINDS]
    keys = [k for k in owned_keys(fluxconfig, rendered) if k.kind in FLUX_KINDS]
    live = read_objects(client, keys)
    flux = [(key, live[key]) for key in keys if key in rendered or live[key] is not None]
    kustomizations = [body for key, body in flux if key.kind == "Kustomization"]
    applied = {
        str((body.get("metadata") or {}).get("name")): inventory(body)
        for body in kustomizations
        if body is not None
    }
    nested = applied_flux_objects(kustomizations)
    nested_keys = [
        ObjectKey(entry.api_version, entry.kind, entry.namespace, entry.name) for entry, _ in nested
    ]
    nested_live = read_objects(client, [k for k in nested_keys if k not in live])
    deployed = [
        (key, nested_live.get(key, live.get(key)), by)
        for key, (_, by) in zip(nested_keys, nested, strict=True)
    ]
    return LiveConfiguration(
        spec=spec,
        reconciler=reconciler,
        fluxconfig=fluxconfig,
        flux=flux,
        deployed=deployed,
        applied=applied,
    )


def _same_object(message: str, failure: str) -> bool:
    """True when two compliance messages (``Kind/name: …``) are about the same object."""
    return message.split(":", 1)[0] == failure.split(":", 1)[0]


def wait_for_compliance(
    read: Callable[[], LiveConfiguration],
    *,
    timeout: float,
    subject: str,
    progress: Callable[[str], None] | None = None,
    commit: str | None = None,
) -> LiveConfiguration:
    """Poll ``read`` until Compliant (at ``commit`` when given); ``ReconciliationError`` with
    the failing object's own message when Non-Compliant lasts ``FAILURE_GRACE_SECONDS``, or
    when ``timeout`` runs out (naming what was still pending)."""
    deadline = time.monotonic() + timeout
    failing_since: float | None = None
    failure = ""
    last = ""
    while True:
        current = read()
        state = current.compliance()
        at_commit = commit is None or current.commit == commit
        line = f"{subject}: {state.state}: {state.message}"
        if state.state == COMPLIANT and at_commit:
            if progress is not None:
                progress(f"{subject}: Compliant at commit {current.commit or '-'}")
            return current
        if state.state == NON_COMPLIANT:
            failing_since = failing_since or time.monotonic()
            failure = state.message
        elif failing_since is not None and not _same_object(state.message, failure):
            failing_since, failure = None, ""  # another object now: the failure went away
        # Flux flips a failing object between Ready=False and Progressing on every retry: the
        # failure stands until the object gets past it, not only while Ready=False is shown
        if failing_since is not None and (
            time.monotonic() - failing_since >= FAILURE_GRACE_SECONDS
            or time.monotonic() >= deadline
        ):
            raise ReconciliationError(
                f"{subject} is Non-Compliant: {failure}; fix the repository or the "
                "configuration and run `up` again"
            )
        if progress is not None and line != last:
            progress(line)
            last = line
        if time.monotonic() >= deadline:
            raise ReconciliationTimeoutError(
                f"{subject} was not Compliant after {timeout:.0f}s (reconciliationWaitDuration): "
                f"{state.state}: {state.message}; `fluxgitops status` shows every object"
            )
        time.sleep(POLL_SECONDS)


def read_deployed(
    client: Client, kustomizations: list[dict[str, Any] | None]
) -> list[tuple[ObjectKey, dict[str, Any] | None, tuple[str, str]]]:
    """The Flux objects the ``kustomizations`` applied (their inventories), read live, each with
    the applying Kustomization: ``build_status(deployed=…)`` for the reconciler."""
    nested = applied_flux_objects(kustomizations)
    keys = [ObjectKey(a.api_version, a.kind, a.namespace, a.name) for a, _ in nested]
    live = read_objects(client, keys)
    return [(key, live[key], by) for key, (_, by) in zip(keys, nested, strict=True)]
