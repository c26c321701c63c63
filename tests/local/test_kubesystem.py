"""The command lines and Node objects of the realistic cluster parts (pure, no processes)."""

from __future__ import annotations

from pathlib import Path

from fluxgitops.local.kubesystem import (
    KWOK_ANNOTATION,
    KWOK_STAGES,
    NODE_CAPACITY,
    Identity,
    controller_manager_argv,
    fake_node,
    flux_controller_argv,
    kwok_argv,
    node_names,
)

IDENTITY = Identity(
    kubeconfig=Path("/w/kubeconfig"),
    ca_cert=Path("/w/pki/ca.crt"),
    ca_key=Path("/w/pki/ca.key"),
    sa_private_key=Path("/w/pki/sa.key"),
)


def test_controller_manager_signs_tokens_and_publishes_the_root_ca() -> None:
    argv = controller_manager_argv(Path("/bin/kcm"), IDENTITY, 4000, Path("/w/kcm"))

    assert "--controllers=*" in argv
    assert "--service-account-private-key-file=/w/pki/sa.key" in argv
    assert "--root-ca-file=/w/pki/ca.crt" in argv
    assert "--secure-port=4000" in argv
    assert "--leader-elect=false" in argv


def test_kwok_gets_every_default_stage_from_beside_its_binary() -> None:
    argv = kwok_argv(Path("/tools/kwok-v0.8.0/kwok"), Path("/w/kubeconfig"), 5000)

    configs = [a.removeprefix("--config=") for a in argv if a.startswith("--config=")]
    assert configs == [f"/tools/kwok-v0.8.0/{name}" for name in KWOK_STAGES]
    assert f"--manage-nodes-with-annotation-selector={KWOK_ANNOTATION}=fake" in argv
    assert "--server-address=127.0.0.1:5000" in argv


def test_fake_node_is_annotated_for_kwok_with_capacity_and_no_taints() -> None:
    node = fake_node("kwok-node-0")

    assert node["metadata"]["annotations"][KWOK_ANNOTATION] == "fake"
    assert node["status"]["allocatable"] == NODE_CAPACITY
    assert "taints" not in node["spec"]


def test_node_names_are_numbered_from_zero() -> None:
    assert node_names(3) == ["kwok-node-0", "kwok-node-1", "kwok-node-2"]


def test_source_controller_serves_artifacts_on_its_storage_port() -> None:
    argv = flux_controller_argv(
        "source-controller", Path("/bin/sc"), 7000, Path("/w"), {"storage": 7001}
    )

    assert "--storage-addr=127.0.0.1:7001" in argv
    assert "--storage-adv-addr=127.0.0.1:7001" in argv
    assert "--health-addr=127.0.0.1:7000" in argv
