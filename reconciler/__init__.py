"""The in-cluster reconciler: a kopf operator keeping every FluxConfig converged.

Azure's fluxconfig-controller equivalent, fully in the cluster. A thin shell
like ``providers/``: what to render, what the CR means and what the status
says come from the pure core (``fluxgitops.render``,
``fluxgitops.fluxconfig_cr``, ``fluxgitops.status``); cluster I/O goes through
``fluxgitops.kube``. Modules: ``options`` (settings), ``workqueue`` (dedup +
backoff), ``inventory`` (what was seen and decided), ``actions`` (one
reconcile / finalize / status write, sync lightkube), ``election`` (Lease
leader election), ``operator`` (kopf wiring), ``runner`` (in a thread, for
tests and benchmarks) and ``cli`` (``fluxgitops reconciler run`` /
``python -m reconciler run``).
"""
