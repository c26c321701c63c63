"""The renderer: validated specs → Kubernetes objects (``fluxgitops.manifest.Manifest``), pure.

``render_configuration`` renders one configuration (source, Kustomizations,
auth Secret, RBAC and its ``FluxConfig``, which ``fluxgitops.fluxconfig.render``
writes); ``extension`` adapts a Flux install bundle; ``admission`` renders the
ValidatingAdmissionPolicies.
"""

from fluxgitops.render.configuration import RenderOptions, render_configuration

__all__ = ["RenderOptions", "render_configuration"]
