"""``read_configuration`` against the real local API server: the Flux objects a configuration
owns are the rendered ones plus those its FluxConfig's ``status.inventory`` records."""

from __future__ import annotations

import itertools
from typing import Any

from lightkube import Client

from fluxgitops.kube.apply import apply_manifests, ensure_namespace, write_inventory
from fluxgitops.kube.deployed import read_configuration
from fluxgitops.render import render_configuration
from fluxgitops.render.manifest import ObjectKey
from fluxgitops.spec import FluxConfigurationSpec, parse_configuration

_names = itertools.count()


def configuration(**kustomizations: Any) -> FluxConfigurationSpec:
    """A configuration with a unique name and namespace and these Kustomizations."""
    n = next(_names)
    return parse_configuration(
        {
            "name": f"dep-{n}",
            "namespace": f"deployed-{n}",
            "gitRepository": {"url": "https://h/r.git"},
            "kustomizations": kustomizations,
        }
    )


def applied(admin: Client, spec: FluxConfigurationSpec) -> list[ObjectKey]:
    """``spec`` applied with its inventory recorded, as the provider does; the recorded keys."""
    ensure_namespace(admin, spec.namespace)
    manifests = render_configuration(spec)
    apply_manifests(admin, manifests)
    holder = manifests[-1].key
    keys = [m.key for m in manifests if m.key != holder]
    write_inventory(admin, holder, keys)
    return keys


def read(admin: Client, spec: FluxConfigurationSpec) -> list[str]:
    found = read_configuration(admin, spec, multi_tenancy=True, reconciler=False)
    return [str(key) for key, _ in found.flux]


def test_a_kustomization_only_the_inventory_records_is_read(admin: Client) -> None:
    spec = configuration(infra={"path": "infra"}, apps={"path": "apps"})
    applied(admin, spec)
    fewer = spec.model_copy(update={"kustomizations": {"infra": spec.kustomizations["infra"]}})
    ns, name = spec.namespace, spec.name
    assert read(admin, fewer) == [
        f"GitRepository {ns}/{name}",
        f"Kustomization {ns}/{name}-infra",
        f"Kustomization {ns}/{name}-apps",
    ]


def test_an_inventory_entry_already_gone_is_left_out(admin: Client) -> None:
    spec = configuration(apps={"path": "apps"})
    keys = applied(admin, spec)
    gone = ObjectKey("kustomize.toolkit.fluxcd.io/v1", "Kustomization", spec.namespace, "gone")
    write_inventory(admin, render_configuration(spec)[-1].key, [*keys, gone])
    found = read_configuration(admin, spec, multi_tenancy=True, reconciler=False)
    assert [key.name for key, _ in found.flux] == [spec.name, f"{spec.name}-apps"]
    assert found.compliance().message != "Kustomization/gone: not created yet"
