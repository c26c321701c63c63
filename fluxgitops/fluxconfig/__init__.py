"""The FluxConfig custom resource, written and read: one module per concept.

``render`` (the CR and its CRD), ``vocabulary`` (condition reasons, finalizer,
annotations), ``readback`` (CR + protected settings → configuration; CR → stack
entry), ``status`` (compliance and conditions), ``drift`` (cached views),
``ownership`` (whose an object is; the ``status.inventory`` and ``owned_keys``,
what a configuration owns). ``fluxgitops.render.configuration`` calls ``render``
for a configuration's CR, so every object still comes from one renderer; this
package and ``fluxgitops.render`` both build on ``fluxgitops.manifest`` and
``fluxgitops.meta`` below them, so neither import order cycles. Pure: no I/O.
"""
