"""Benchmark: parse + render + diff of N configurations, against a floor in the same run.

The floor is ``json.loads(json.dumps(...))`` of the same rendered objects — the
cost of merely copying them — so the ratio says how much the spec, renderer and
diff add on top, independent of how noisy this machine is right now.
Run: ``.venv/bin/python -m benchmarks.render [N ...]`` (default 10 50 200).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from fluxgitops.diff import diff_manifests
from fluxgitops.render import render_configuration
from fluxgitops.spec import parse_configuration


def raw_configuration(i: int) -> dict[str, Any]:
    """A realistic configuration: HTTPS Git with a token, three kustomizations in a chain."""
    return {
        "name": f"config-{i}",
        "namespace": f"team-{i % 20}",
        "gitRepository": {
            "url": f"https://git.example.com/org/repo-{i}.git",
            "httpsUser": "bot",
            "httpsKey": f"token-{i}",
            "repositoryRef": {"branch": "main"},
        },
        "kustomizations": {
            "crds": {"path": "crds"},
            "infra": {"path": "infra", "dependsOn": ["crds"]},
            "apps": {"path": "apps", "dependsOn": ["infra"], "prune": True},
        },
    }


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(sizes: list[int]) -> None:
    """Print one line per size: parse+render, diff (no change), floor, ratios."""
    print(
        f"{'configs':>8} {'render s':>10} {'diff s':>10} {'floor s':>10} "
        f"{'render/floor':>13} {'diff/floor':>11} {'ms/config':>10}"
    )
    for n in sizes:
        raws = [raw_configuration(i) for i in range(n)]
        rendered = [m for r in raws for m in render_configuration(parse_configuration(r))]
        bodies = [m.to_dict() for m in rendered]

        def render_all(raws: list[dict[str, Any]] = raws) -> None:
            for r in raws:
                render_configuration(parse_configuration(r))

        def diff_all(bodies: list[dict[str, Any]] = bodies, rendered: list[Any] = rendered) -> None:
            diff_manifests(bodies, rendered, live=True)

        def floor(bodies: list[dict[str, Any]] = bodies) -> None:
            json.loads(json.dumps(bodies))

        render_s = best_of(5, render_all)
        diff_s = best_of(5, diff_all)
        floor_s = best_of(5, floor)
        per_config = 1000 * (render_s + diff_s) / n
        print(
            f"{n:>8} {render_s:>10.4f} {diff_s:>10.4f} {floor_s:>10.4f} "
            f"{render_s / floor_s:>13.1f} {diff_s / floor_s:>11.1f} {per_config:>10.3f}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 50, 200])
