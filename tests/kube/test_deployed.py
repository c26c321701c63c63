"""Waiting for a configuration: Compliant ends the wait, Non-Compliant and timeouts fail it.

``wait_for_compliance`` takes the function that reads the configuration; these
tests hand it successive states as Flux would report them (the real reads are
in the end-to-end loop test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from fluxgitops.errors import ReconciliationError, ReconciliationTimeoutError
from fluxgitops.kube import deployed
from fluxgitops.kube.deployed import LiveConfiguration, wait_for_compliance
from fluxgitops.manifest import ObjectKey
from fluxgitops.spec import parse_configuration

SOURCE = ObjectKey("source.toolkit.fluxcd.io/v1", "GitRepository", "n", "c")
APPS = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "n", "c-apps")


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll without sleeping and fail on the first Non-Compliant read."""
    monkeypatch.setattr(deployed, "POLL_SECONDS", 0.0)
    monkeypatch.setattr(deployed, "FAILURE_GRACE_SECONDS", 0.0)


def state(ready: str | None, reason: str = "", message: str = "", commit: str = "abc") -> Any:
    """The configuration with a Ready source at ``commit`` and the apps Kustomization ``ready``."""
    spec = parse_configuration(
        {"name": "c", "namespace": "n", "gitRepository": {"url": "https://h/r"}}
    )
    source = {
        "kind": "GitRepository",
        "metadata": {"name": "c", "generation": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded"}],
            "artifact": {"revision": f"main@sha1:{commit}"},
        },
    }
    apps: dict[str, Any] = {
        "kind": "Kustomization",
        "metadata": {"name": "c-apps", "generation": 1},
    }
    if ready is not None:
        condition = {"type": "Ready", "status": ready, "reason": reason, "message": message}
        apps["status"] = {"observedGeneration": 1, "conditions": [condition]}
    return LiveConfiguration(
        spec=spec,
        reconciler=False,
        fluxconfig=None,
        flux=[(SOURCE, source), (APPS, apps)],
        deployed=[],
    )


def reads(*states: LiveConfiguration) -> Callable[[], LiveConfiguration]:
    """A reader returning ``states`` in turn, then the last one forever."""
    items: Iterator[LiveConfiguration] = iter(states)
    last = [states[0]]

    def read() -> LiveConfiguration:
        last[0] = next(items, last[0])
        return last[0]

    return read


def test_wait_ends_when_compliant_and_reports_progress() -> None:
    lines: list[str] = []
    wait_for_compliance(
        reads(state(None), state("Unknown", "Progressing", "applying"), state("True")),
        timeout=30,
        subject="FluxConfiguration n/c",
        progress=lines.append,
    )
    assert lines == [
        "FluxConfiguration n/c: Pending: Kustomization/c-apps: not reconciled yet",
        "FluxConfiguration n/c: Pending: Kustomization/c-apps: Progressing: applying",
        "FluxConfiguration n/c: Compliant at commit abc",
    ]


def test_wait_fails_with_the_flux_objects_own_message() -> None:
    with pytest.raises(ReconciliationError) as info:
        wait_for_compliance(
            reads(state("False", "BuildFailed", "accumulating resources: missing.yaml")),
            timeout=30,
            subject="FluxConfiguration n/c",
        )
    assert str(info.value).startswith(
        "FluxConfiguration n/c is Non-Compliant: Kustomization/c-apps: BuildFailed: "
        "accumulating resources: missing.yaml; fix the repository"
    )


def test_wait_runs_out_naming_what_is_pending() -> None:
    with pytest.raises(ReconciliationTimeoutError) as info:
        wait_for_compliance(reads(state(None)), timeout=0, subject="FluxConfiguration n/c")
    assert str(info.value).startswith(
        "FluxConfiguration n/c was not Compliant after 0s (reconciliationWaitDuration): Pending: "
        "Kustomization/c-apps: not reconciled yet"
    )


def test_wait_for_a_commit_ignores_compliance_at_an_older_one() -> None:
    lines: list[str] = []
    wait_for_compliance(
        reads(state("True", commit="old"), state("True", commit="new")),
        timeout=30,
        subject="c",
        progress=lines.append,
        commit="new",
    )
    assert lines[-1] == "c: Compliant at commit new"


def test_wait_fails_on_a_failure_flux_keeps_retrying() -> None:
    failing = state("False", "BuildFailed", "missing.yaml")
    retrying = state("Unknown", "Progressing", "Reconciliation in progress")
    with pytest.raises(ReconciliationError) as info:
        wait_for_compliance(reads(failing, retrying), timeout=30, subject="c")
    assert str(info.value).startswith("c is Non-Compliant: Kustomization/c-apps: BuildFailed: ")
