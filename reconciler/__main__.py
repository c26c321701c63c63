"""``python -m reconciler run …``: the reconciler CLI without the rest of ``fluxgitops``.

The container image's entrypoint (``deploy/Containerfile``): the same options as
``fluxgitops reconciler run`` (``reconciler.cli``), without importing Pulumi.
"""

from reconciler.cli import app

if __name__ == "__main__":
    app(prog_name="reconciler")
