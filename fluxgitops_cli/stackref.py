"""One way to name a stack on every command: ``-s/--stack NAME|PATH``.

A PATH (it contains a ``/``, ends in ``.yaml``/``.yml`` or is an existing file)
is taken as it is, anywhere; a NAME resolves through the project's
``Pulumi.yaml`` (found upwards from the current directory) and its
``stackConfigDir`` to ``<stackConfigDir>/Pulumi.<NAME>.yaml``, as the Pulumi CLI
does. The file must exist before anything else runs (no passphrase prompt, no
cluster connection for a typo). Nothing ties this to the checkout: an installed
``fluxgitops`` works from any project directory. Called by every command of
``fluxgitops_cli``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from fluxgitops.errors import StackNotFoundError

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")


@dataclass(frozen=True)
class StackRef:
    """A resolved stack: its Pulumi name, its file, and the project's ``Pulumi.yaml``
    (None when the file lies outside any Pulumi project)."""

    name: str
    file: Path
    project: Path | None


def find_project(start: Path) -> Path | None:
    """The nearest ``Pulumi.yaml`` in ``start`` or a directory above it."""
    directory = start.resolve()
    for candidate in (directory, *directory.parents):
        for name in PROJECT_FILES:
            if (candidate / name).is_file():
                return candidate / name
    return None


def stack_dir(project: Path) -> Path:
    """Where the project keeps its stack files (``stackConfigDir``, default: beside it)."""
    try:
        settings = yaml.safe_load(project.read_text()) or {}
    except (OSError, yaml.YAMLError):
        settings = {}
    configured = settings.get("stackConfigDir") if isinstance(settings, dict) else None
    return project.parent / str(configured) if configured else project.parent


def name_of(file: Path) -> str:
    """``Pulumi.local.yaml`` → ``local``; another file name → its stem."""
    stem = file.name.rsplit(".", 1)[0]
    return stem.removeprefix("Pulumi.") or stem


def is_path(ref: str) -> bool:
    """True when ``ref`` names a file rather than a stack."""
    return "/" in ref or ref.endswith((".yaml", ".yml")) or Path(ref).is_file()


def _available(directory: Path) -> str:
    names = sorted(name_of(p) for p in directory.glob("Pulumi.*.y*ml"))
    return f"stacks there: {', '.join(names)}" if names else "there are no stack files there"


def resolve_stack(ref: str, cwd: Path | None = None) -> StackRef:
    """``ref`` (NAME or PATH) to a stack file that exists; ``StackNotFoundError`` otherwise."""
    here = cwd or Path.cwd()
    if is_path(ref):
        file = (here / ref).resolve()
        if not file.is_file():
            raise StackNotFoundError(
                f"stack file {ref!r} does not exist ({file}); nothing was run — give an existing "
                "stack file or a stack name (stacks/Pulumi.<name>.yaml)"
            )
        return StackRef(name_of(file), file, find_project(file.parent))
    project = find_project(here)
    if project is None:
        raise StackNotFoundError(
            f"stack {ref!r}: no Pulumi.yaml in {str(here)!r} or above, so the name cannot be "
            "resolved; run from the project directory or pass the stack file's path "
            f"(-s path/to/Pulumi.{ref}.yaml)"
        )
    directory = stack_dir(project)
    file = directory / f"Pulumi.{ref}.yaml"
    if not file.is_file():
        raise StackNotFoundError(
            f"stack {ref!r}: no file {str(file)!r} (stackConfigDir of {project}); "
            f"{_available(directory)}; nothing was run"
        )
    return StackRef(ref, file, project)
