"""Benchmark: source validation of a generated repository with 1,000 manifests.

Measures, best of N in one run: the floor — parsing the same files with
``yaml.safe_load_all`` (pure-Python loader, what most tools do) and with
``yaml.load_all(Loader=CSafeLoader)`` (the libyaml parser our loader uses) —
then ``fluxgitops.tenancy`` on the files in memory (collect + line-keeping load
+ every rule), and the whole ``check_source`` (ls-remote, shallow fetch, read
the tree, rules) against the same repository over file:// and loopback HTTP.
Ratios are against the libyaml floor measured in the same run, so they hold
however busy this machine is. Run: ``.venv/bin/python -m benchmarks.validate
[MANIFESTS]`` (default 1000).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import yaml

from benchmarks.render import best_of
from fluxgitops.local.gitserver import GitServer
from fluxgitops.sourcecheck import SourceChecker
from fluxgitops.spec import FluxConfigurationSpec, parse_configuration
from fluxgitops.tenancy import FileTree, ManifestCollector, check_manifests

NAMESPACE = "cluster-config"
PER_FILE = 4
REPEAT = 5


def document(i: int) -> str:
    """One manifest; every 25th Flux object points across namespaces (a finding)."""
    ns = "flux-system" if i % 25 == 0 else NAMESPACE
    kind = i % 4
    if kind == 0:
        return (
            f"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n"
            f"  name: app-{i}\n  namespace: {NAMESPACE}\nspec:\n  interval: 10m\n"
            f"  targetNamespace: team-{i % 20}\n  chart:\n    spec:\n      chart: app\n"
            f"      version: '1.{i % 7}.x'\n      sourceRef:\n        kind: HelmRepository\n"
            f"        name: charts\n        namespace: {ns}\n  values:\n    replicas: {i % 3 + 1}\n"
            f"    image: {{repository: registry.example.com/app-{i}, tag: v{i}}}\n"
        )
    if kind == 1:
        return (
            f"apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n"
            f"  name: ks-{i}\n  namespace: {NAMESPACE}\nspec:\n  interval: 10m\n"
            f"  path: ./deploy/{i}\n"
            f"  prune: true\n  sourceRef: {{kind: GitRepository, name: fleet}}\n"
            f"  dependsOn:\n    - name: ks-{i - 4}\n"
        )
    if kind == 2:
        return (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings-{i}\n"
            f"  namespace: team-{i % 20}\ndata:\n  LOG_LEVEL: info\n  FEATURE_{i}: 'true'\n"
        )
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n"
        f"  namespace: team-{i % 20}\nspec:\n  replicas: 2\n"
        f"  selector:\n    matchLabels: {{app: web-{i}}}\n"
        f"  template:\n    metadata:\n      labels: {{app: web-{i}}}\n"
        f"    spec:\n      containers:\n"
        f"        - name: web\n          image: registry.example.com/web:{i}\n"
        f"          ports: [{{containerPort: 8080}}]\n"
    )


def repository(manifests: int) -> dict[str, str]:
    """``{path: text}``: apps/team-N/*.yaml with PER_FILE documents each, one kustomization.yaml."""
    files: dict[str, str] = {}
    for start in range(0, manifests, PER_FILE):
        docs = [document(i) for i in range(start, min(start + PER_FILE, manifests))]
        files[f"apps/team-{start % 20}/part-{start // PER_FILE:04d}.yaml"] = "---\n".join(docs)
    listing = "".join(f"  - {p.removeprefix('apps/')}\n" for p in sorted(files))
    files["apps/kustomization.yaml"] = f"resources:\n{listing}"
    return files


def spec_for(url: str) -> FluxConfigurationSpec:
    """A configuration syncing ``apps`` from ``url`` on main."""
    spec = parse_configuration(
        {
            "name": "fleet",
            "namespace": NAMESPACE,
            "gitRepository": {
                "url": "https://placeholder.invalid/f.git",
                "repositoryRef": {"branch": "main"},
            },
            "kustomizations": {"apps": {"path": "apps"}},
        }
    )
    assert spec.git_repository is not None
    source = spec.git_repository.model_copy(update={"url": url})  # file:// passes no validator
    return spec.model_copy(update={"git_repository": source})


def main(manifests: int) -> None:
    """Build the repository, time each stage, print figures and ratios."""
    files = repository(manifests)
    texts = [text for path, text in files.items() if not path.endswith("kustomization.yaml")]
    tree = FileTree(files)

    def safe_load_all() -> None:
        for text in texts:
            list(yaml.safe_load_all(text))

    def c_load_all() -> None:
        for text in texts:
            list(yaml.load_all(text, Loader=yaml.CSafeLoader))

    def validate() -> int:
        found = list(ManifestCollector(tree).directory("apps"))
        return len(check_manifests(found, namespace=NAMESPACE))

    collector = ManifestCollector(tree)
    loaded = list(collector.directory("apps"))
    findings = check_manifests(loaded, namespace=NAMESPACE)

    with tempfile.TemporaryDirectory() as tmp, GitServer(Path(tmp)) as server:
        with server.work_tree("fleet") as work:
            work.write(files).commit("generated")
            work.push()

        def source_check(url: str) -> Callable[[], object]:
            def run() -> object:
                with SourceChecker(timeout=120) as checker:
                    report = checker.check(spec_for(url), raise_on_error=False)
                assert (report.manifests, len(report.findings)) == (len(loaded), len(findings))
                return report

            return run

        rows = [
            ("yaml.safe_load_all (pure Python)", best_of(REPEAT, safe_load_all)),
            ("yaml.load_all CSafeLoader (floor)", best_of(REPEAT, c_load_all)),
            ("tenancy: collect + load + rules", best_of(REPEAT, validate)),
            ("check_source over file://", best_of(REPEAT, source_check(server.file_url("fleet")))),
            (
                "check_source over http://127.0.0.1",
                best_of(REPEAT, source_check(server.url("fleet"))),
            ),
        ]
    floor = rows[1][1]
    print(
        f"repository: {len(texts)} files, {len(loaded)} manifests, {len(findings)} findings "
        f"(best of {REPEAT})"
    )
    print(f"{'stage':<38} {'seconds':>9} {'ms/manifest':>12} {'x floor':>8}")
    for name, seconds in rows:
        print(
            f"{name:<38} {seconds:>9.4f} {1000 * seconds / len(loaded):>12.4f} "
            f"{seconds / floor:>8.2f}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
