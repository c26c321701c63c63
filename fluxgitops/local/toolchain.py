"""Locate the third-party programs that ``tools/build.py`` builds into the cache.

A path comes from the program's environment variable (``FLUXGITOPS_ETCD``,
``FLUXGITOPS_KUBE_APISERVER``, ``FLUXGITOPS_FLUX_CRDS`` …, as ``tools/build.py
--print-env`` prints them) or from ``${FLUXGITOPS_CACHE:-~/.cache/fluxgitops}/
tools/<program>-<version>/``, with versions read from ``tools/versions.json``
(``versions_file``: the checkout's, else the copy a wheel installs under
``<prefix>/share/fluxgitops/``, so an installed ``fluxgitops`` finds the same
built programs without a checkout). A missing program is a ``ToolchainError``
that says how to build it. ``program_dirs`` lists the directories a user puts on
PATH (kubectl, the Pulumi CLI and its Python language host). Called by the local
control plane, ``fluxgitops local env``, ``components`` (the Pulumi CLI, the Flux
install bundle) and the tests.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig
from pathlib import Path
from typing import Any

from fluxgitops.errors import ToolchainError

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The source checkout this module runs from (only the local harness and tests use it)."""
VERSIONS = REPO_ROOT / "tools" / "versions.json"
INSTALLED_VERSIONS = Path("share") / "fluxgitops" / "versions.json"
"""Where a wheel installs ``tools/versions.json`` (pyproject's ``data-files``), under the
installation's data directory."""


def versions_file() -> Path:
    """``tools/versions.json`` of the checkout, else the one installed with the package."""
    if VERSIONS.is_file():
        return VERSIONS
    schemes = (sysconfig.get_default_scheme(), sysconfig.get_preferred_scheme("user"))
    found = (Path(sysconfig.get_path("data", scheme)) / INSTALLED_VERSIONS for scheme in schemes)
    return next((path for path in found if path.is_file()), VERSIONS)


def _programs() -> dict[str, Any]:
    path = versions_file()
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except OSError as exc:
        raise ToolchainError(
            f"cannot read {str(path)!r}: {exc}; run from a source checkout or reinstall fluxgitops"
        ) from exc
    programs: dict[str, Any] = data["programs"]
    return programs


def cache_root() -> Path:
    """Where built programs live (outside the repository)."""
    return Path(os.environ.get("FLUXGITOPS_CACHE", Path.home() / ".cache" / "fluxgitops")) / "tools"


def version_of(program: str) -> str:
    """The pinned version of ``program`` (``v1.36.3`` …)."""
    return str(_programs()[program]["version"])


def _override_env(program: str, binary: str | None = None) -> str | None:
    """The environment variable that points ``binary`` of ``program`` at another build."""
    spec = _programs()[program]
    env = spec.get("env")
    for build in spec.get("builds", []):
        if build["binary"] == (binary or program):
            env = build.get("env", env)
    return str(env) if env else None


def pinned_version(program: str) -> str | None:
    """The version of the ``program`` binary runs will use: the pinned one, or None when its
    override variable (``FLUXGITOPS_PULUMI`` …) points at another build."""
    env = _override_env(program)
    return None if env and os.environ.get(env) else version_of(program)


def tool_path(program: str, binary: str | None = None) -> Path:
    """The built ``binary`` of ``program`` (or its data directory); ``ToolchainError`` if absent."""
    spec = _programs()[program]
    env = _override_env(program, binary)
    name = binary or program
    if env and os.environ.get(env):
        path = Path(os.environ[env])
    else:
        base = cache_root() / f"{program}-{spec['version']}"
        path = base if spec.get("data") else base / name
    if not path.exists():
        raise ToolchainError(
            f"{name} {spec['version']} is not built (looked for {str(path)!r}); "
            f"build it with `python3 tools/build.py {program}` (or `make tools`) and retry"
        )
    return path


def flux_bundle_path() -> Path:
    """The generated Flux install bundle: ``install.yaml`` of ``tools/build.py flux-bundle``.

    ``FLUXGITOPS_FLUX_BUNDLE`` (as ``--print-env`` prints it) may name the bundle's directory or
    the YAML file itself; ``ToolchainError`` with the build command when it is not there.
    """
    program = "flux-bundle"
    spec = _programs()[program]
    value = os.environ.get(str(spec["env"]))
    path = Path(value) if value else cache_root() / f"{program}-{spec['version']}"
    if path.is_dir() or not path.suffix:
        path = path / "install.yaml"
    if not path.is_file():
        raise ToolchainError(
            f"the Flux install bundle {spec['version']} is not built (looked for {str(path)!r}); "
            f"build it with `python3 tools/build.py {program}` (or `make tools`), or give the "
            f"cluster a fluxBundle: file, or use mode: external"
        )
    return path


def python_env() -> dict[str, str]:
    """Which Python the built language host and the dynamic-provider shim run: this one.

    The host is built from ``sdk/v3@v3.79.0``, which predates the CLI passing
    ``runtime.options.virtualenv`` to it; both honour these variables instead.
    """
    venv = Path(sys.prefix)
    return {"PULUMI_PYTHON_CMD": sys.executable, "PULUMI_RUNTIME_VIRTUALENV": str(venv)}


#: Programs whose directory goes on PATH for a user of the local cluster, in PATH order:
#: kubectl; the Python language host before the CLI (each finds its own
#: ``pulumi-language-python-exec`` next to itself; the CLI's directory also holds
#: ``pulumi-resource-pulumi-python``, which runs the dynamic provider).
PATH_PROGRAMS = ("kubectl", "pulumi-language-python", "pulumi")


def program_dirs(programs: tuple[str, ...] = PATH_PROGRAMS) -> tuple[list[Path], list[str]]:
    """The directories of the built ``programs`` and a message for each one not built."""
    dirs: list[Path] = []
    missing: list[str] = []
    for program in programs:
        try:
            dirs.append(tool_path(program).parent)
        except ToolchainError as exc:
            missing.append(str(exc))
    return dirs, missing
