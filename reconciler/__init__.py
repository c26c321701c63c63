"""The in-cluster reconciler: a kopf operator keeping every FluxConfig converged.

Azure's fluxconfig-controller equivalent, fully in the cluster. A thin shell
like ``providers/``: what to render, what the CR means and what the status
says come from the pure core (``fluxgitops.render``,
``fluxgitops.fluxconfig``, ``fluxgitops.status``); cluster I/O goes through
``fluxgitops.kube``. Modules: ``options`` (settings), ``workqueue`` (dedup +
backoff), ``inventory`` (what was seen and decided), ``actions`` (one
reconcile / finalize / status write, sync lightkube), ``election`` (Lease
leader election and the fence every write passes), ``operator`` (kopf wiring),
``runner`` (in a thread, for tests and benchmarks) and ``cli`` (``fluxgitops reconciler run`` /
``python -m reconciler run``).

Guards (issue 16): nothing is written over an object that is not ours
(``OwnershipConflict``), nothing is deleted that the inventory or our field
managers do not vouch for, no write leaves a replica that lost the Lease, and
objects of a FluxConfig that is gone are swept up.
"""
