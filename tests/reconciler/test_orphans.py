"""No orphans, on the real API server: objects labelled for a FluxConfig that is gone — deleted
before its first reconcile, or its finalizer removed by hand while no reconciler ran — are
collected by the sweep a reconciler runs when it takes the lead."""

from __future__ import annotations

import dataclasses
import logging
import uuid

import pytest
from lightkube import Client
from lightkube.types import PatchType

from fluxgitops.kube.apply import ensure_namespace, read_object
from fluxgitops.kube.client import resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.manifest import ObjectKey
from fluxgitops.meta import FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND
from reconciler.options import ReconcilerOptions
from reconciler.runner import ReconcilerThread
from tests.reconciler.conftest import LEASE_NAMESPACE, options_for
from tests.reconciler.support import (
    apply_fluxconfig,
    fluxconfig,
    https_config,
    kustomization,
    status_of,
    wait_for,
)


@pytest.fixture
def orphan_namespace(admin: Client) -> str:
    """A namespace no reconciler serves until the test starts one (``orp-*``)."""
    name = f"orp-{uuid.uuid4().hex[:8]}"
    for namespace in (name, LEASE_NAMESPACE):
        ensure_namespace(admin, namespace)
    return name


@pytest.fixture
def sweeper_options(control_plane: ControlPlane) -> ReconcilerOptions:
    """Options of a reconciler serving ``orp-*`` (periodic sweep far away: only the first)."""
    return options_for(
        control_plane,
        namespaces=("orp-*",),
        lease_name="rec-orphans",
        orphan_sweep_interval=3600.0,
    )


@pytest.fixture
def patient_sweeper(sweeper_options: ReconcilerOptions) -> ReconcilerOptions:
    """``sweeper_options`` with the product's kind of grace: first sightings are only noted."""
    return dataclasses.replace(sweeper_options, orphan_grace=3600.0)


def _secret(admin: Client, namespace: str, name: str) -> object:
    return read_object(admin, ObjectKey("v1", "Secret", namespace, name))


def test_auth_secret_of_a_fluxconfig_deleted_before_its_first_reconcile_is_collected(
    admin: Client,
    orphan_namespace: str,
    sweeper_options: ReconcilerOptions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fluxgitops.reconciler")
    apply_fluxconfig(admin, https_config("web", orphan_namespace))
    res = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)
    admin.delete(res, "web", namespace=orphan_namespace)  # no finalizer yet: gone at once
    assert fluxconfig(admin, orphan_namespace, "web") is None
    assert _secret(admin, orphan_namespace, "web-auth") is not None
    with ReconcilerThread(sweeper_options):
        wait_for(
            "the token Secret to be collected",
            lambda: _secret(admin, orphan_namespace, "web-auth") is None,
        )
    lines = [r.getMessage() for r in caplog.records if "collected orphans" in r.getMessage()]
    assert any(
        f"FluxConfig {orphan_namespace}/web" in line
        and f"Secret {orphan_namespace}/web-auth" in line
        for line in lines
    ), lines


def test_objects_of_a_fluxconfig_whose_finalizer_was_removed_by_hand_are_collected(
    admin: Client,
    orphan_namespace: str,
    sweeper_options: ReconcilerOptions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="fluxgitops.reconciler")
    with ReconcilerThread(sweeper_options):
        apply_fluxconfig(admin, https_config("web", orphan_namespace))
        wait_for(
            "the reconcile",
            lambda: status_of(admin, orphan_namespace, "web").get("observedGeneration"),
        )
    res = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)
    admin.patch(
        res,
        "web",
        {"metadata": {"finalizers": None}},
        namespace=orphan_namespace,
        patch_type=PatchType.MERGE,
    )
    admin.delete(res, "web", namespace=orphan_namespace)
    wait_for("the FluxConfig to go", lambda: fluxconfig(admin, orphan_namespace, "web") is None)
    assert kustomization(admin, orphan_namespace, "web-infra") is not None  # Flux would deploy it
    with ReconcilerThread(sweeper_options):
        wait_for(
            "web-infra to be collected",
            lambda: kustomization(admin, orphan_namespace, "web-infra") is None,
        )
        wait_for(
            "the shared RBAC to be collected",
            lambda: (
                read_object(
                    admin, ObjectKey("v1", "ServiceAccount", orphan_namespace, "flux-applier")
                )
                is None
            ),
        )
    assert _secret(admin, orphan_namespace, "web-auth") is None
    lines = [r.getMessage() for r in caplog.records if "collected orphans" in r.getMessage()]
    assert any(f"Kustomization {orphan_namespace}/web-infra" in line for line in lines), lines


def test_auth_secret_applied_before_its_fluxconfig_survives_a_sweep(
    admin: Client,
    orphan_namespace: str,
    patient_sweeper: ReconcilerOptions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The applier writes the auth Secret a moment before the FluxConfig; a sweep in between
    sees a labelled Secret without its FluxConfig and must leave it for the grace period."""
    caplog.set_level(logging.INFO, logger="fluxgitops.reconciler")
    config = https_config("web", orphan_namespace)
    apply_fluxconfig(admin, config)
    res = resource_for(FLUXCONFIG_API_VERSION, FLUXCONFIG_KIND)
    admin.delete(res, "web", namespace=orphan_namespace)  # the Secret alone, as mid-apply
    with ReconcilerThread(patient_sweeper):
        wait_for(
            "the sweep to note the Secret",
            lambda: any(
                "collected if still so" in r.getMessage()
                and f"FluxConfig {orphan_namespace}/web" in r.getMessage()
                for r in caplog.records
            ),
        )
        assert _secret(admin, orphan_namespace, "web-auth") is not None
        apply_fluxconfig(admin, config)  # the applier goes on
        wait_for(
            "the reconcile",
            lambda: status_of(admin, orphan_namespace, "web").get("observedGeneration"),
        )
        assert _secret(admin, orphan_namespace, "web-auth") is not None
    assert not any("collected orphans" in r.getMessage() for r in caplog.records)
