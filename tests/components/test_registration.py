"""``components.registration``: the SDK hooks exist, debug messages stay in-process, and the
short stack trace is the declaring code's part of the SDK's own."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi.log
import pytest
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import source_pb2

from components import registration
from tests.pulumi_support import Recorder, pulumi_test


@pytest.fixture
def sdk_modules() -> Iterator[None]:
    """Restores every SDK name ``registration.apply`` replaces, so tests do not leak hooks."""
    saved = {
        (name, attr): getattr(importlib.import_module(name), attr)
        for name, attrs in registration.SDK_HOOKS.items()
        for attr in attrs
    }
    yield
    for (name, attr), value in saved.items():
        setattr(importlib.import_module(name), attr, value)


class _Base:
    """Stands for ``pulumi.Resource``: its constructor captures the trace, as the SDK's does."""

    def __init__(self, capture: Any) -> None:
        self.trace: source_pb2.StackTrace = capture()


class _Middle(_Base):
    """Stands for ``CustomResource`` / ``ComponentResource``."""

    def __init__(self, capture: Any) -> None:
        super().__init__(capture)


class _Concrete(_Middle):
    """Stands for a resource class such as ``FluxConfiguration``."""

    def __init__(self, capture: Any) -> None:
        super().__init__(capture)


def _declare(capture: Any) -> tuple[source_pb2.StackTrace, int]:
    line = _declare.__code__.co_firstlineno + 2
    return _Concrete(capture).trace, line


def _positions(trace: source_pb2.StackTrace) -> list[tuple[str, int]]:
    return [(frame.pc.uri, frame.pc.line) for frame in trace.frames]


def _sdk_log() -> Any:
    """The ``log`` the SDK's resource module sends its messages through."""
    return vars(sdk_resource)["log"]


def _sdk_trace() -> source_pb2.StackTrace:
    """The SDK's own capture, called one frame deeper like ours (through ``capture``)."""
    return sdk_resource._get_stack_trace()


def test_sdk_hooks_exist() -> None:
    for name, attrs in registration.SDK_HOOKS.items():
        module = importlib.import_module(name)
        missing = [attr for attr in attrs if not hasattr(module, attr)]
        assert not missing, f"pulumi {name} no longer has {missing}: update components.registration"


def test_debug_messages_are_dropped(sdk_modules: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(registration.SDK_DEBUG_ENV, raising=False)
    registration.apply()
    sent: list[str] = []
    monkeypatch.setattr(pulumi.log, "_log", lambda *args: sent.append(str(args)))
    monkeypatch.setattr(pulumi.log, "get_engine", object)
    _sdk_log().debug("registering resource: ty=x")
    _sdk_log().warn("kept")
    assert len(sent) == 1
    assert "kept" in sent[0]


def test_debug_env_keeps_messages(sdk_modules: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(registration.SDK_DEBUG_ENV, "1")
    registration.apply()
    assert _sdk_log() is pulumi.log


def test_apply_twice_wraps_once(sdk_modules: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(registration.SDK_DEBUG_ENV, raising=False)
    registration.apply()
    registration.apply()
    assert _sdk_log().debug is not None
    assert _sdk_log()._log is pulumi.log


def test_user_log_keeps_debug(sdk_modules: None) -> None:
    registration.apply()
    assert pulumi.log.debug.__module__ == "pulumi.log"


def test_stack_trace_starts_at_the_declaring_code() -> None:
    trace, line = _declare(registration._stack_trace)
    assert _positions(trace)[0] == (Path(__file__).as_uri(), line)


def test_stack_trace_is_the_sdk_trace_cut_at_the_sdk() -> None:
    (ours, _), (sdks, _) = (_declare(c) for c in (registration._stack_trace, _sdk_trace))
    assert _positions(sdks)[: len(ours.frames)] == _positions(ours)
    assert len(ours.frames) == len(sdks.frames)  # no SDK frame under a test


def test_stack_trace_stops_at_the_sdk_runner() -> None:
    runner = str(Path(pulumi.__file__).parent / "runtime" / "stack.py")
    scope: dict[str, Any] = {"declare": _declare, "capture": registration._stack_trace}
    exec(compile("result = declare(capture)", runner, "exec"), scope)
    trace, line = scope["result"]
    assert _positions(trace) == [(Path(__file__).as_uri(), line)]


def test_stack_trace_installed(sdk_modules: None) -> None:
    registration.apply()
    assert sdk_resource._get_stack_trace is registration._stack_trace


@pulumi_test
def test_settle_under_mocks_registers_nothing() -> None:
    pulumi.runtime.set_mocks(Recorder())
    registration.settle([pulumi.Output.from_input("x")])
