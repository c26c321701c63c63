"""``fluxgitops.local.processes.sticky_port``: a restarted plane keeps the addresses other
processes stored (source-controller's storage address in every artifact URL)."""

from __future__ import annotations

import socket
from pathlib import Path

from fluxgitops.local.processes import free_port, sticky_port


def test_sticky_port_records_a_free_port(tmp_path: Path) -> None:
    record = tmp_path / "storage.port"
    port = sticky_port(record)
    assert record.read_text() == str(port)


def test_sticky_port_reuses_the_recorded_port(tmp_path: Path) -> None:
    record = tmp_path / "storage.port"
    first = sticky_port(record)
    assert sticky_port(record) == first


def test_sticky_port_moves_when_the_recorded_port_is_taken(tmp_path: Path) -> None:
    record = tmp_path / "storage.port"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        record.write_text(str(taken.getsockname()[1]))
        port = sticky_port(record)
        assert port != taken.getsockname()[1]
    assert record.read_text() == str(port)


def test_sticky_port_ignores_a_garbled_record(tmp_path: Path) -> None:
    record = tmp_path / "storage.port"
    record.write_text("not a port")
    assert sticky_port(record) > 0
