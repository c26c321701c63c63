"""Find Flux v1 on a live Kubernetes cluster: its CRDs and its daemon's Deployments.

``find_flux_v1`` reads the CustomResourceDefinitions only Flux v1 installs
(``fluxgitops.migrate.FLUX_V1_CRDS``) and every Deployment whose image is the
Flux v1 daemon (``fluxcd/flux``); ``refuse_flux_v1`` raises
``FluxV1InstalledError`` with the migration plan when anything is found. The
Pulumi program calls it for each ``kubernetes`` cluster before declaring the
Flux v2 extension, so ``pulumi preview`` fails with guidance instead of
installing next to Flux v1. I/O: the Kubernetes API (lightkube).
"""

from __future__ import annotations

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment

from fluxgitops.errors import FluxV1InstalledError
from fluxgitops.kube.apply import read_object
from fluxgitops.kube.boundary import api_errors
from fluxgitops.manifest import ObjectKey
from fluxgitops.migrate import FLUX_V1_CRDS, is_flux_v1_image, migration_plan

CRD_API = "apiextensions.k8s.io/v1"


def find_flux_v1(client: Client) -> list[str]:
    """What on the cluster is Flux v1: ``CRD <name>`` and ``Deployment <ns>/<name> (<image>)``."""
    found = [
        f"CRD {name}"
        for name in FLUX_V1_CRDS
        if read_object(client, ObjectKey(CRD_API, "CustomResourceDefinition", "", name))
    ]
    with api_errors("Deployments (all namespaces)"):
        deployments = list(client.list(Deployment, namespace="*"))
    for deployment in deployments:
        meta = deployment.metadata
        spec = deployment.spec
        if meta is None or spec is None or spec.template.spec is None:
            continue
        for container in spec.template.spec.containers:
            if container.image and is_flux_v1_image(container.image):
                found.append(f"Deployment {meta.namespace}/{meta.name} ({container.image})")
    return found


def refuse_flux_v1(client: Client, cluster: str) -> None:
    """Raise ``FluxV1InstalledError`` (the migration plan) when Flux v1 is on ``cluster``."""
    found = find_flux_v1(client)
    if found:
        raise FluxV1InstalledError(migration_plan(cluster, found))
