"""Cheaper resource registration in the Pulumi Python SDK, for the fluxgitops program only.

At 200 configurations a no-change preview spends most of the program's CPU in
two things the Python SDK does for every resource, measured with py-spy
(``benchmarks.stack``; figures in the README "Measured" table):

- **SDK debug messages.** ``pulumi.runtime`` sends each internal debug line
  ("registering resource …", one per output property, …) to the engine as a
  *blocking* ``Log`` RPC on the program's event loop: about 30 per resource, half of the
  program thread's samples. The engine prints them only under ``pulumi --debug``
  (and logs them at ``-v=3``); ``fluxgitops`` never passes either. They are
  dropped in-process unless ``FLUXGITOPS_SDK_DEBUG=1``.
- **Stack traces.** The SDK walks the whole Python stack with
  ``traceback.extract_stack`` (reading source lines through ``linecache``) and
  sends every frame down to the thread's bootstrap: about 20 frames (2 kB) per
  resource, stored in the state file with each resource, so every checkpoint of
  an ``up`` rewrites them. ``_stack_trace`` keeps the frames of the code that
  declared the resource (from the resource's constructor down to the frame that
  called into the SDK's program runner), which is all Pulumi shows (the first frame
  is the resource's source position).

``apply`` installs the first two into the SDK modules that use them; it is idempotent, called
by ``components.program.main`` — so only the fluxgitops program (``pulumi up`` in
this project, ``fluxgitops up``) is affected, never a user's own program that imports
the components. The private SDK names it replaces are listed in ``SDK_HOOKS``;
``tests/components/test_registration.py`` fails when an SDK upgrade removes one.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import pulumi
from pulumi.errors import RunError
from pulumi.runtime.proto import source_pb2

SDK_DEBUG_ENV = "FLUXGITOPS_SDK_DEBUG"
"""Set to ``1`` to keep the SDK's debug messages (shown by ``pulumi --debug``)."""

LOG_USERS = (
    "pulumi.output",
    "pulumi.resource",
    "pulumi.runtime.invoke",
    "pulumi.runtime.resource",
    "pulumi.runtime.rpc",
    "pulumi.runtime.rpc_manager",
    "pulumi.runtime.stack",
)
"""SDK modules that send debug messages through their module-level ``log``."""

SDK_HOOKS = {module: ("log",) for module in LOG_USERS} | {
    "pulumi.runtime.resource": ("log", "_get_stack_trace")
}
"""Each SDK module and the module-level names ``apply`` replaces in it."""

_SDK_ROOT = str(Path(pulumi.__file__).parent) + os.sep
_CONSTRUCTOR_DEPTH = 3
"""The SDK's rule: the third ``__init__`` up the stack is the concrete resource's
constructor (``Resource`` → ``CustomResource``/``ComponentResource`` → the class)."""


class _QuietLog:
    """``pulumi.log`` without ``debug``: what the SDK modules see after ``apply``."""

    def __init__(self, log: ModuleType) -> None:
        self._log = log

    def debug(self, *args: Any, **kwargs: Any) -> None:
        """Dropped: the engine shows these only under ``pulumi --debug``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


@functools.lru_cache(maxsize=256)
def _uri(filename: str) -> str | None:
    try:
        return Path(filename).as_uri()
    except ValueError:  # a relative or synthetic name such as "<string>"
        return None


def _stack_trace() -> source_pb2.StackTrace:
    """The frames of the code that declared the resource, topmost first (the SDK's format)."""
    frame: FrameType | None = sys._getframe(1)
    inits = 0
    while frame is not None:
        if frame.f_code.co_name == "__init__":
            inits += 1
            if inits == _CONSTRUCTOR_DEPTH:
                break
        frame = frame.f_back
    frames: list[source_pb2.StackFrame] = []
    frame = frame.f_back if frame is not None else None
    while frame is not None and not frame.f_code.co_filename.startswith(_SDK_ROOT):
        uri = _uri(frame.f_code.co_filename)
        position = None if uri is None else source_pb2.SourcePosition(uri=uri, line=frame.f_lineno)
        frames.append(source_pb2.StackFrame(pc=position))
        frame = frame.f_back
    return source_pb2.StackTrace(frames=frames)


def apply() -> None:
    """Install the quiet log (the SDK's own with ``FLUXGITOPS_SDK_DEBUG=1``, read at every
    call) and the short stack traces."""
    for name, hooks in SDK_HOOKS.items():
        module = importlib.import_module(name)
        names = vars(module)
        if "log" in hooks:
            current = names["log"]
            log = current._log if isinstance(current, _QuietLog) else current
            names["log"] = log if os.environ.get(SDK_DEBUG_ENV) == "1" else _QuietLog(log)
        if "_get_stack_trace" in hooks:
            names["_get_stack_trace"] = _stack_trace


def settle(outputs: Sequence[pulumi.Output[Any]]) -> None:
    """Wait for ``outputs`` once, as the program's asynchronous entrypoint (``pulumi.run``).

    Failures are left to the SDK, which reports each failed registration itself. Under
    ``pulumi.runtime.mocks`` (unit tests) the root stack is already finished and refuses an
    entrypoint; nothing is registered then (the quadratic wait needs real RPCs to matter).
    """

    async def wait() -> None:
        await asyncio.gather(*(output.future() for output in outputs), return_exceptions=True)

    try:
        pulumi.run(wait)
    except RunError:
        return
