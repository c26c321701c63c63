"""Where and how the Pulumi CLI runs a stack: the file backend, the environment, the work
directory and the Automation API workspace.

``state_dir`` is the local file backend (``$FLUXGITOPS_STATE_DIR``, default
``~/.cache/fluxgitops/state``); ``pulumi_environment`` is what the built CLI needs (also
given to the plain CLI by ``fluxgitops pulumi --``); ``work_directory`` copies the stack
file into a private directory carrying the stack's ``encryptionsalt``, so both CLIs share
one stack; ``open_stack`` selects or creates the stack in a workspace that starts no CLI
process of its own: the pinned ``pulumi`` is not asked its version (0.17 s) and a stack the
backend holds is not selected first (0.13 s; every command names its ``--stack``).
``checkpoint_environment`` makes kubernetes-only stacks write their state once per run.
Called by ``components.automation`` (``run_stack``), ``components.arm_read`` and
``fluxgitops_cli.runs``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import yaml
from pulumi import automation as auto
from semver import VersionInfo

from fluxgitops.errors import ToolchainError
from fluxgitops.local.toolchain import pinned_version, tool_path
from fluxgitops.spec.fleet import FLEETS_KEY
from fluxgitops.stack import CONFIG_KEY
from fluxgitops.yamltext import safe_dump, safe_load

LOCAL_PASSPHRASE = "fluxgitops-local"  # only for the throwaway 'local' stack
PARALLEL_DIFF = "PULUMI_PARALLEL_DIFF"


def state_dir() -> Path:
    """The file backend directory."""
    default = Path.home() / ".cache" / "fluxgitops" / "state"
    return Path(os.environ.get("FLUXGITOPS_STATE_DIR", default))


def pulumi_environment(stack: str) -> dict[str, str]:
    """What the built ``pulumi`` needs for ``stack``: PATH (the CLI, this Python), the file
    backend, PULUMI_HOME, no update checks or plugin downloads, diffs in parallel (unless
    ``PULUMI_PARALLEL_DIFF`` says otherwise), and the passphrase (the ``local`` stack's default
    when none is exported). Also used by ``fluxgitops pulumi``."""
    pulumi_dir = tool_path("pulumi").parent
    path = os.pathsep.join(
        [str(Path(sys.executable).parent), str(pulumi_dir), os.environ.get("PATH", "")]
    )
    env = {
        "PATH": path,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "PULUMI_RUNTIME_VIRTUALENV": str(Path(sys.executable).parent.parent),
        "PULUMI_HOME": str(state_dir().parent / "pulumi-home"),
        "PULUMI_BACKEND_URL": state_dir().as_uri(),
        # the engine otherwise calls each resource's Diff one after another, waiting on the
        # Python provider process every time (no-change preview of 200: 5.15 -> 4.88 s)
        PARALLEL_DIFF: os.environ.get(PARALLEL_DIFF, "true"),
    }
    passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE")
    if passphrase is None and stack != "local":
        raise ToolchainError(
            f"stack {stack!r} needs PULUMI_CONFIG_PASSPHRASE (its secrets are encrypted with it); "
            "export it and retry"
        )
    env["PULUMI_CONFIG_PASSPHRASE"] = passphrase if passphrase is not None else LOCAL_PASSPHRASE
    return env


DEFAULT_PROJECT = {"name": "fluxgitops", "runtime": "python"}


def project_settings(project_file: Path | None) -> dict[str, object]:
    """The project's ``Pulumi.yaml`` (the packaged defaults outside a project)."""
    if project_file is None or not project_file.is_file():
        return dict(DEFAULT_PROJECT)
    loaded = yaml.safe_load(project_file.read_text()) or {}
    return dict(loaded) if isinstance(loaded, dict) else dict(DEFAULT_PROJECT)


SALT_KEY = "encryptionsalt"


def _salt(loaded: object) -> str | None:
    value = loaded.get(SALT_KEY) if isinstance(loaded, dict) else None
    return str(value) if value else None


def work_directory(stack: str, source: Path, project_file: Path | None) -> Path:
    """A private work directory: the project settings (without ``stackConfigDir``) and a copy
    of the stack file carrying the stack's ``encryptionsalt`` — the stack file's own (written
    by a plain ``pulumi stack init``) or the one Pulumi generated here before."""
    work = state_dir().parent / "work" / stack
    work.mkdir(parents=True, exist_ok=True)
    project = project_settings(project_file)
    project.pop("stackConfigDir", None)
    project.pop("backend", None)
    (work / "Pulumi.yaml").write_text(safe_dump(project))
    target = work / f"Pulumi.{stack}.yaml"
    config = safe_load(source.read_text()) or {}
    salt = _salt(config) or (_salt(safe_load(target.read_text())) if target.is_file() else None)
    if salt:
        config[SALT_KEY] = salt
    target.write_text(safe_dump(config))
    return work


def checkpoint_path(stack: str, project: str) -> Path | None:
    """The file backend's checkpoint of ``stack`` (plain or gzipped); None before its first run."""
    base = state_dir() / ".pulumi" / "stacks" / project
    return next(
        (p for p in (base / f"{stack}.json", base / f"{stack}.json.gz") if p.is_file()), None
    )


class _PinnedPulumi(auto.PulumiCommand):
    """The built ``pulumi`` at the version ``tools/versions.json`` pins: the Automation API's
    own constructor runs ``pulumi version`` on every run (0.17 s) to learn just that."""

    def __init__(self, binary: Path, version: str) -> None:  # no super(): it runs the CLI
        self.command = str(binary)
        self.version = VersionInfo.parse(version.removeprefix("v"))


def _pulumi_command() -> auto.PulumiCommand | None:
    """The pinned command, or None (the Automation API asks the CLI) when ``FLUXGITOPS_PULUMI``
    points at another build."""
    version = pinned_version("pulumi")
    return None if version is None else _PinnedPulumi(tool_path("pulumi"), version)


class _Workspace(auto.LocalWorkspace):
    """A local workspace whose ``select_stack`` needs no CLI call (0.13 s) when the file
    backend already holds the stack: every command names its ``--stack`` anyway."""

    def __init__(self, project: str, **options: Any) -> None:
        self._project = project
        super().__init__(**options)

    def select_stack(self, stack_name: str) -> None:
        if checkpoint_path(stack_name, self._project) is None:
            super().select_stack(stack_name)


def open_stack(
    stack: str,
    project: str,
    work: Path,
    program: auto.PulumiFn,
    environment: dict[str, str],
) -> auto.Stack:
    """``stack`` of ``project`` with the inline ``program``, run in ``work`` with
    ``environment``, selected (created the first time) in the file backend."""
    workspace = _Workspace(
        project,
        work_dir=str(work),
        program=program,
        env_vars=environment,
        pulumi_command=_pulumi_command(),
        project_settings=auto.ProjectSettings(
            name=project,
            runtime="python",
            main=str(work),
            backend=auto.ProjectBackend(url=state_dir().as_uri()),
        ),
    )
    return auto.Stack.create_or_select(stack, workspace)


SKIP_CHECKPOINTS = "PULUMI_SKIP_CHECKPOINTS"
"""Pulumi's switch to write the state once at the end of a run instead of after every step."""


def checkpoint_environment(stack_file: Path) -> dict[str, str]:
    """``PULUMI_SKIP_CHECKPOINTS=true`` for a stack whose every cluster is ``kubernetes``.

    The file backend rewrites the whole state after every step of an ``up``: quadratic in the
    stack's size, 4/5 of an ``up`` of 200 configurations (``benchmarks.stack``). Written once
    at the end instead, a failed step still lands in the state (Pulumi saves when the run ends,
    failed or not); only a killed ``pulumi`` process loses the run's record. On the
    ``kubernetes`` backend that loss is harmless: every create and update is a server-side
    apply under fluxgitops' field manager and every delete accepts an object already gone, so
    the next ``up`` adopts what the killed one applied
    (``tests/e2e/test_local_stack.py::test_up_after_lost_state_adopts_objects``).
    An ``azure`` cluster or an Azure Policy fleet keeps a checkpoint per step: azure-native
    refuses to create a resource that exists, so a lost record would need ``pulumi import``.
    A ``PULUMI_SKIP_CHECKPOINTS`` already in the environment is the user's choice and wins.
    Reads only backends and fleet policies from the raw file (validation is the program's job).
    """
    if SKIP_CHECKPOINTS in os.environ:
        return {}
    raw = safe_load(stack_file.read_text()) or {}
    config = (raw.get("config") or {}) if isinstance(raw, dict) else {}
    clusters, fleets = config.get(CONFIG_KEY), config.get(FLEETS_KEY)
    if not isinstance(clusters, list) or not clusters or not isinstance(fleets, list | None):
        return {}
    kubernetes = all(
        isinstance(c, dict) and c.get("backend", "kubernetes") == "kubernetes" for c in clusters
    )
    policy = any(isinstance(f, dict) and "policy" in f for f in fleets or ())
    return {SKIP_CHECKPOINTS: "true"} if kubernetes and not policy else {}
