"""What a stack may refer to of ``fluxgitops local up``: its kubeconfig and its Git server.

``kubeconfig: local`` in a stack means the local control plane's kubeconfig
(``resolve_kubeconfig``); ``${local.git}`` the URL of the local Git server
(``stack_placeholders``). Both are read from the directory ``local up`` writes
(``local_dir``, ``FLUXGITOPS_LOCAL_DIR``) — files only, so the production
program (``components/program.py``), the automation and the CLI resolve them
without importing the local control plane (``fluxgitops.local``), which starts
processes and is not needed to deploy to a real cluster.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from fluxgitops.stack import DEFAULT_PLACEHOLDERS, LOCAL_GIT

GIT_STATE_FILE = "git.json"
"""Where the local Git server records its URL, in ``local_dir()``."""


def local_dir() -> Path:
    """Where ``fluxgitops local up`` keeps the detached control plane (FLUXGITOPS_LOCAL_DIR)."""
    default = Path.home() / ".cache" / "fluxgitops" / "local"
    return Path(os.environ.get("FLUXGITOPS_LOCAL_DIR", default))


def member_dir(index: int, base: Path | None = None) -> Path:
    """The working directory of local cluster ``index`` (2…): ``<local_dir>-<index>``
    (``fluxgitops.local.fleet``)."""
    root = base or local_dir()
    return root.with_name(f"{root.name}-{index}")


def resolve_kubeconfig(value: str | None) -> str | None:
    """A stack's ``kubeconfig``: ``local`` is the local control plane's, ``local-<n>`` local
    cluster n's (``fluxgitops.local.fleet``, started by ``local up --clusters N``); ``~`` is
    expanded."""
    if value == "local":
        return str(local_dir() / "kubeconfig")
    if value is not None and re.fullmatch(r"local-\d+", value):
        return str(member_dir(int(value.split("-")[1])) / "kubeconfig")
    return str(Path(value).expanduser()) if value else None


def local_git_url(workdir: Path) -> str:
    """The base URL of the Git server ``local up`` started for ``workdir``; the default port's
    URL when none is recorded (the stack then still validates; Flux reports it unreachable)."""
    try:
        url = json.loads((workdir / GIT_STATE_FILE).read_text())["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_PLACEHOLDERS[LOCAL_GIT]
    return str(url)


def stack_placeholders(workdir: Path) -> dict[str, str]:
    """Values for ``${...}`` placeholders in stack files: ``${local.git}``."""
    return {LOCAL_GIT: local_git_url(workdir)}
