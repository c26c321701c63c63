"""``fluxgitops`` installed from a wheel into a fresh venv and run outside the checkout.

The wheel is built (``pip wheel --no-deps``) from a copy of the checkout, installed
with ``--no-deps`` into a new venv whose dependencies come from the test venv's
site-packages (a ``.pth`` line after the new venv's own; the test venv's editable
copy of the project is an import hook that a plain path entry does not run), and
every command runs in a directory outside the checkout. What it proves: the wheel
holds every package the CLI imports and the data it reads (``versions.json``), and
``validate`` / ``render`` / ``plan`` / ``status`` need no source tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.toolchain import REPO_ROOT, VERSIONS

PACKAGES = (
    "components",
    "fluxgitops",
    "fluxgitops_cli",
    "fluxgitops_pulumi",
    "providers",
    "reconciler",
)
NOT_SOURCES = shutil.ignore_patterns(
    ".venv", ".git", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", ".tools"
)
# everything the CLI and the Pulumi program import, module by module
IMPORT_ALL = """
import json, sys
import fluxgitops_cli.app, components.program, reconciler.operator, fluxgitops_pulumi
from fluxgitops.local.toolchain import versions_file
project = {name for name in sys.modules if name.split(".")[0] in sys.argv[1].split(",")}
files = {name: getattr(sys.modules[name], "__file__", None) or "" for name in project}
print(json.dumps({"files": files, "versions": str(versions_file())}))
"""


@dataclass(frozen=True)
class Installed:
    """The wheel and the venv it is installed in."""

    wheel: Path
    venv: Path
    env: dict[str, str]

    def run(self, args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        """``fluxgitops ARGS`` (the venv's console script) in ``cwd``."""
        return subprocess.run(
            [str(self.venv / "bin" / "fluxgitops"), *args],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _run(argv: Sequence[str | Path], cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCES)
    pip = [sys.executable, "-m", "pip"]
    _run([*pip, "wheel", "--quiet", "--no-deps", "-w", base / "dist", source])
    (wheel,) = (base / "dist").glob("fluxgitops-*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    _run([*pip, "--python", python, "install", "--quiet", "--no-deps", wheel])
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(_run([python, "-c", purelib]).strip())
    (site / "test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["FLUXGITOPS_STATE_DIR"] = str(base / "state")  # no Pulumi state: nothing recorded
    return Installed(wheel, venv, env)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory that is not in the checkout."""
    assert not tmp_path.resolve().is_relative_to(REPO_ROOT)
    return tmp_path


def test_wheel_holds_every_package_and_the_versions_file(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    assert {name.split("/")[0] for name in names if "/" in name} >= set(PACKAGES)
    data = next(n for n in names if n.endswith("/data/share/fluxgitops/versions.json"))
    assert json.loads(zipfile.ZipFile(installed.wheel).read(data)) == json.loads(
        VERSIONS.read_text()
    )


def test_every_module_the_cli_imports_comes_from_the_venv(
    installed: Installed, outside: Path
) -> None:
    python = installed.venv / "bin" / "python"
    loaded = json.loads(
        _run([python, "-c", IMPORT_ALL, ",".join(PACKAGES)], cwd=outside).splitlines()[-1]
    )
    files = loaded["files"]
    assert {name.split(".")[0] for name in files} == set(PACKAGES)
    from_checkout = sorted(n for n, f in files.items() if Path(f).is_relative_to(REPO_ROOT))
    assert from_checkout == []
    assert all(Path(f).is_relative_to(installed.venv) for f in files.values() if f)
    assert Path(loaded["versions"]).is_relative_to(installed.venv)


def test_validate_and_render_resolve_a_stack_name_from_the_project_directory(
    installed: Installed, outside: Path
) -> None:
    shutil.copyfile(REPO_ROOT / "Pulumi.yaml", outside / "Pulumi.yaml")
    shutil.copytree(REPO_ROOT / "stacks", outside / "stacks")
    nested = outside / "stacks" / "deeper"
    nested.mkdir()
    for stack, summary in (("dev", "valid: 1 cluster(s)"), ("prod", "valid: 4 cluster(s)")):
        result = installed.run(["validate", "-s", stack], cwd=nested)  # Pulumi.yaml found upwards
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith(summary)
    render = installed.run(["render", "-s", "dev"], cwd=outside)
    assert render.returncode == 0, render.stderr
    kinds = {doc["kind"] for doc in yaml.safe_load_all(render.stdout)}
    assert {"GitRepository", "Kustomization", "FluxConfig"} <= kinds
    crd = installed.run(["crd"], cwd=outside)
    assert yaml.safe_load(crd.stdout)["metadata"]["name"] == "fluxconfigs.fluxgitops.io"


def test_a_stack_name_outside_any_project_says_how_to_name_the_file(
    installed: Installed, outside: Path
) -> None:
    result = installed.run(["validate", "-s", "dev"], cwd=outside)
    assert result.returncode == 1
    assert "stack 'dev': no Pulumi.yaml in" in result.stdout + result.stderr


def test_plan_and_status_of_a_copied_stack_file_against_the_cluster(
    installed: Installed, outside: Path, control_plane: ControlPlane
) -> None:
    stack = outside / "copied" / "Pulumi.wheel.yaml"
    stack.parent.mkdir()
    entry = {
        "name": "wheel",
        "namespace": "wheel-plan",
        "gitRepository": {"url": "https://h/r.git"},
        "kustomizations": {"apps": {"path": "apps"}},
    }
    cluster = {"name": "c1", "kubeconfig": str(control_plane.kubeconfig), "configurations": [entry]}
    stack.write_text(yaml.safe_dump({"config": {"fluxgitops:clusters": [cluster]}}))
    result = installed.run(["plan", "--stack", str(stack)], cwd=outside)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "+ Kustomization wheel-plan/wheel-apps" in result.stdout
    as_json = installed.run(
        ["plan", "--stack", "copied/Pulumi.wheel.yaml", "--format", "json"], cwd=outside
    )
    assert as_json.returncode == 2, as_json.stderr
    (planned,) = json.loads(as_json.stdout)["configurations"]
    assert (planned["cluster"], planned["configuration"]) == ("c1", "wheel-plan/wheel")
    status = installed.run(["status", "--stack", str(stack), "-o", "json"], cwd=outside)
    assert status.returncode == 0, status.stdout + status.stderr  # read: not Unreachable
    (document,) = json.loads(status.stdout)
    assert (document["namespace"], document["name"]) == ("wheel-plan", "wheel")
