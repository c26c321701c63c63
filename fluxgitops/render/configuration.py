"""``render_configuration``: a validated configuration → its ordered Kubernetes objects.

The one renderer, shared by the dynamic provider, the reconciler and the CLI.
Order (apply order; delete in reverse): the ``flux-applier`` RBAC (when
multi-tenancy is enforced), the auth Secret(s), the source, the
Kustomizations (dependencies first), and last the ``FluxConfig`` that records
the desired state. Output is deterministic: same input, same objects, same
order, no timestamps. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from fluxgitops.fluxconfig.render import render_fluxconfig
from fluxgitops.manifest import Manifest, index
from fluxgitops.meta import labels_for
from fluxgitops.render.auth import render_auth_secret, render_verify_secret
from fluxgitops.render.flux import render_kustomization, render_source
from fluxgitops.render.rbac import render_rbac
from fluxgitops.spec.configuration import FluxConfigurationSpec
from fluxgitops.sshkeys import SshIdentity


@dataclass(frozen=True)
class RenderOptions:
    """What the renderer needs beyond the configuration itself.

    ``multi_tenancy`` comes from the extension (``multiTenancy.enforce``);
    ``ssh_identity`` is the in-cluster generated key, known only to the
    reconciler — without it a generated-key Secret is not rendered.
    ``include_fluxconfig`` is off for the reconciler, which owns the CR.
    """

    multi_tenancy: bool = True
    ssh_identity: SshIdentity | None = None
    include_fluxconfig: bool = True


def render_configuration(
    spec: FluxConfigurationSpec, options: RenderOptions | None = None
) -> list[Manifest]:
    """Every object of the configuration, in apply order."""
    opts = options or RenderOptions()
    labels = labels_for(spec.name, spec.namespace)
    out: list[Manifest] = []
    if opts.multi_tenancy:
        out.extend(render_rbac(spec))
    auth = render_auth_secret(spec, labels, opts.ssh_identity)
    if auth is not None:
        out.append(auth)
    verify = render_verify_secret(spec, labels)
    if verify is not None:
        out.append(verify)
    out.append(render_source(spec, labels, has_auth_secret=auth is not None))
    for name in spec.kustomization_order():
        out.append(render_kustomization(spec, name, labels, opts.multi_tenancy))
    if opts.include_fluxconfig:
        out.append(
            render_fluxconfig(
                spec, labels, multi_tenancy=opts.multi_tenancy, has_auth_secret=auth is not None
            )
        )
    index(out)  # raises on a duplicate key: a renderer bug, never user input
    return out
