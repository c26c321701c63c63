"""The FluxConfig custom resource, read side: one module per concept.

``vocabulary`` (condition reasons, finalizer, annotations), ``readback`` (CR +
protected settings → configuration; CR → stack entry), ``status`` (compliance
and conditions), ``drift`` (cached views), ``ownership`` (whose an object is;
the ``status.inventory`` and ``owned_keys``, what a configuration owns). The CR
is written by ``fluxgitops.render.fluxconfig`` (one renderer for every object).
Pure: no I/O.
"""
