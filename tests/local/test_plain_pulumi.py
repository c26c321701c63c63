"""The plain Pulumi CLI runs this project: ``pulumi preview``, ``up`` and ``destroy``, and
shares its stacks with ``fluxgitops`` (one backend, one stack file, one passphrase).

No Automation API: the built ``pulumi`` (v3.274.0) starts the built Python language
host (``pulumi-language-python`` from sdk/v3 v3.79.0) found on PATH as ``fluxgitops
local env`` sets it, which runs ``__main__.py`` with the project's ``.venv``. The
project files are copied unchanged into a temporary directory because ``pulumi stack
init`` writes an ``encryptionsalt`` into the stack file; the state is a file backend
there too. ``kubeconfig: local`` resolves to the test cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from lightkube import Client, KubeConfig

from components.automation import StackRun, run_stack
from fluxgitops.errors import PulumiRunError
from fluxgitops.kube.client import register_kinds, resource_for
from fluxgitops.local.controlplane import ControlPlane
from fluxgitops.local.toolchain import REPO_ROOT, program_dirs, python_env

PASSPHRASE = "plain-pulumi-tests"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """This project's Pulumi.yaml, __main__.py and local stack file, copied as they are,
    with the repository's ``.venv`` beside them (Pulumi.yaml names ``virtualenv: .venv``)."""
    directory = tmp_path / "project"
    (directory / "stacks").mkdir(parents=True)
    for name in ("Pulumi.yaml", "__main__.py", "stacks/Pulumi.local.yaml"):
        shutil.copyfile(REPO_ROOT / name, directory / name)
    (directory / ".venv").symlink_to(REPO_ROOT / ".venv")
    return directory


@pytest.fixture
def pulumi_env(tmp_path: Path, cluster: ControlPlane) -> dict[str, str]:
    """The environment a user has after ``eval "$(fluxgitops local env)"`` plus the usual
    Pulumi settings for CI: file backend, passphrase, no plugin downloads."""
    dirs, missing = program_dirs(("pulumi-language-python", "pulumi"))
    assert not missing, "\n".join(missing)
    return {
        "PATH": os.pathsep.join([*map(str, dirs), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "KUBECONFIG": str(cluster.kubeconfig),
        "FLUXGITOPS_LOCAL_DIR": str(cluster.workdir),
        "PULUMI_HOME": str(tmp_path / "pulumi-home"),
        "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        **python_env(),
    }


def pulumi(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``pulumi`` found on ``env``'s PATH in ``project``."""
    (Path(env["HOME"]) / "state").mkdir(exist_ok=True)
    binary = shutil.which("pulumi", path=env["PATH"])
    assert binary is not None, f"no pulumi on PATH {env['PATH']!r}"
    return subprocess.run(
        [binary, *args, "--non-interactive"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_plain_pulumi_preview_of_the_local_stack_plans_the_components(
    project: Path, pulumi_env: dict[str, str]
) -> None:
    init = pulumi(project, pulumi_env, "stack", "init", "local")
    assert init.returncode == 0, init.stdout + init.stderr

    preview = pulumi(project, pulumi_env, "preview", "--stack", "local")

    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "fluxgitops:index:FluxExtension" in preview.stdout
    assert "fluxgitops:index:FluxConfiguration" in preview.stdout
    assert "to create" in preview.stdout
    assert (project / "Pulumi.yaml").read_bytes() == (REPO_ROOT / "Pulumi.yaml").read_bytes()


@pytest.fixture
def shared(
    project: Path, pulumi_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """``fluxgitops`` and the plain CLI on one backend (the test's state directory), as
    ``fluxgitops pulumi -- …`` arranges it."""
    state = Path(pulumi_env["PULUMI_BACKEND_URL"].removeprefix("file://"))
    state.mkdir(exist_ok=True)
    monkeypatch.setenv("FLUXGITOPS_STATE_DIR", str(state))
    monkeypatch.setenv("FLUXGITOPS_LOCAL_DIR", pulumi_env["FLUXGITOPS_LOCAL_DIR"])
    return pulumi_env


def fluxgitops_preview(project: Path) -> StackRun:
    """``fluxgitops preview -s local`` in ``project``."""
    return run_stack(
        "preview",
        "local",
        stack_file=project / "stacks" / "Pulumi.local.yaml",
        project_file=project / "Pulumi.yaml",
    )


def test_plain_stack_init_then_fluxgitops_with_a_wrong_passphrase_says_so(
    project: Path, shared: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init = pulumi(project, shared, "stack", "init", "local")
    assert init.returncode == 0, init.stdout + init.stderr
    assert "encryptionsalt" in (project / "stacks" / "Pulumi.local.yaml").read_text()

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "not-the-one")
    with pytest.raises(PulumiRunError) as info:
        fluxgitops_preview(project)
    assert str(info.value).startswith("stack 'local': incorrect passphrase — ")
    assert "export that passphrase and retry" in str(info.value)

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    assert fluxgitops_preview(project).changes.get("create", 0) > 0


def test_fluxgitops_first_then_plain_pulumi_preview_shares_the_stack(
    project: Path, shared: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    assert fluxgitops_preview(project).changes.get("create", 0) > 0

    preview = pulumi(project, shared, "preview", "--stack", "local")

    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "to create" in preview.stdout
    assert fluxgitops_preview(project).changes.get("create", 0) > 0


def test_plain_pulumi_up_then_destroy(
    project: Path, pulumi_env: dict[str, str], cluster: ControlPlane
) -> None:
    body = {
        "config": {
            "fluxgitops:clusters": [
                {
                    "name": "local",
                    "mode": "external",
                    "kubeconfig": "local",
                    "extension": {"reconciler": {"enabled": False}},
                    "configurations": [
                        {
                            "name": "plain",
                            "namespace": "plain-up",
                            "gitRepository": {"url": "https://example.com/r.git"},
                            "kustomizations": {"apps": {"path": "apps"}},
                        }
                    ],
                }
            ]
        }
    }
    (project / "stacks" / "Pulumi.plain.yaml").write_text(yaml.safe_dump(body))
    assert pulumi(project, pulumi_env, "stack", "init", "plain").returncode == 0
    admin = Client(KubeConfig.from_file(cluster.kubeconfig))
    register_kinds()
    kustomization = resource_for("kustomize.toolkit.fluxcd.io/v1", "Kustomization")

    up = pulumi(project, pulumi_env, "up", "--yes", "--stack", "plain")

    assert up.returncode == 0, up.stdout + up.stderr
    assert admin.get(kustomization, "plain-apps", namespace="plain-up").metadata is not None

    destroy = pulumi(project, pulumi_env, "destroy", "--yes", "--stack", "plain")

    assert destroy.returncode == 0, destroy.stdout + destroy.stderr
    names = [k.metadata.name for k in admin.list(kustomization, namespace="plain-up")]
    assert "plain-apps" not in names
