"""``tools/image.py check``: run the built reconciler image against a real cluster, chroot-style.

No container runtime here, so this does the runtime's part by hand: ``umoci unpack`` the image
from the OCI layout, add the device nodes every runtime provides, start a fresh local control
plane (``ControlPlane``: etcd + kube-apiserver + CRDs), and run the image's ENTRYPOINT + CMD
from its config (``config.json``), with its environment, in a chroot as its user — the liveness
port moved to a free one and ``--kubeconfig`` added (a copy with the certificates inlined, inside
the root filesystem). Then apply one FluxConfig and wait until the reconciler has applied its
Flux objects and written its status; stop it with SIGTERM and expect exit 0.

Called by ``tools/image.py check`` (``make image``); ``tests/deploy`` tests the missing-image
error. Needs root (unpack keeps ownership; chroot).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from fluxgitops.kube.apply import apply_manifests, ensure_namespace, read_object
from fluxgitops.kube.client import connect
from fluxgitops.local.controlplane import ControlPlane, free_port
from fluxgitops.meta import FLUXCONFIG_KIND
from fluxgitops.render import RenderOptions, render_configuration
from fluxgitops.spec import parse_configuration
from tools.containerfile import ImageError
from tools.image import cache_root, image_reference, layout_dir, log, run

CHECK_TIMEOUT = 90.0
"""Seconds for each wait (reconciler healthy, FluxConfig reconciled, exit after SIGTERM)."""
RUNTIME_DEVICES = {"null": (1, 3), "zero": (1, 5), "random": (1, 8), "urandom": (1, 9)}
"""The character devices every OCI runtime creates in /dev (the image ships /dev empty)."""
CONFIGURATION = {
    "name": "image-check",
    "gitRepository": {"url": "https://git.example.com/fleet.git"},
    "kustomizations": {"apps": {"path": "apps"}},
}
"""The FluxConfig the check applies (in a fresh namespace)."""


def embedded_kubeconfig(path: Path) -> str:
    """``path``'s kubeconfig with its certificate files inlined (they are outside the chroot)."""
    config = yaml.safe_load(path.read_text())
    for section, key in (("clusters", "cluster"), ("users", "user")):
        for entry in config[section]:
            body = entry[key]
            for name in ("certificate-authority", "client-certificate", "client-key"):
                if name in body:
                    data = Path(body.pop(name)).read_bytes()
                    body[f"{name}-data"] = base64.b64encode(data).decode()
    return yaml.safe_dump(config)


def tail(log_path: Path, lines: int = 20) -> str:
    return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def wait(
    what: str, probe: Callable[[], object], process: subprocess.Popen[bytes], log_path: Path
) -> float:
    """Poll ``probe`` until truthy; the seconds it took. Fails at once if the reconciler exits."""
    started = time.monotonic()
    while not probe():
        if process.poll() is not None:
            raise ImageError(
                f"the image's reconciler exited ({process.returncode}) before {what}; "
                f"its log ({log_path}):\n{tail(log_path)}"
            )
        if time.monotonic() - started > CHECK_TIMEOUT:
            raise ImageError(
                f"timed out after {CHECK_TIMEOUT:.0f}s waiting for {what}; "
                f"the reconciler's log ({log_path}):\n{tail(log_path)}"
            )
        time.sleep(0.1)
    return round(time.monotonic() - started, 2)


def unpack(image: str, work: Path) -> tuple[Path, dict[str, Any]]:
    """The unpacked root filesystem (with runtime devices) and the runtime ``process`` spec."""
    bundle = work / "bundle"
    run(["umoci", "unpack", "--image", image, str(bundle)], "umoci unpack")
    process: dict[str, Any] = json.loads((bundle / "config.json").read_text())["process"]
    rootfs = bundle / "rootfs"
    for device, (major, minor) in RUNTIME_DEVICES.items():
        os.mknod(rootfs / "dev" / device, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    return rootfs, process


def start(
    rootfs: Path, process: dict[str, Any], control_plane: ControlPlane, namespace: str, work: Path
) -> tuple[subprocess.Popen[bytes], str, list[str]]:
    """Run the image's entrypoint in a chroot as its user; (process, liveness URL, argv)."""
    uid, gid = process["user"]["uid"], process["user"]["gid"]
    kubeconfig = rootfs / "tmp" / "kubeconfig"
    kubeconfig.write_text(embedded_kubeconfig(control_plane.kubeconfig))
    kubeconfig.chmod(0o600)
    os.chown(kubeconfig, uid, gid)
    health = f"http://127.0.0.1:{free_port()}/healthz"
    argv = [
        f"--liveness={health}" if arg.startswith("--liveness=") else arg for arg in process["args"]
    ] + ["--kubeconfig", "/tmp/kubeconfig"]
    env = dict(item.split("=", 1) for item in process["env"])
    env.update(POD_NAME="image-check", POD_NAMESPACE=namespace)  # as the Deployment sets them
    chroot = shutil.which("chroot")  # looked up with the host's PATH, not the image's
    if not chroot:
        raise ImageError("`chroot` (coreutils) is not on PATH; install coreutils and retry")
    with (work / "reconciler.log").open("wb") as output:
        child = subprocess.Popen(
            [chroot, f"--userspec={uid}:{gid}", str(rootfs), *argv],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return child, health, argv


def reconcile_one(
    control_plane: ControlPlane, namespace: str, child: subprocess.Popen[bytes], log_path: Path
) -> dict[str, object]:
    """Apply one FluxConfig; wait until its objects exist and its status is current."""
    admin = connect(str(control_plane.kubeconfig))
    manifests = render_configuration(
        parse_configuration({**CONFIGURATION, "namespace": namespace}), RenderOptions()
    )
    fluxconfig = next(m.key for m in manifests if m.key.kind == FLUXCONFIG_KIND)
    wanted = [m.key for m in manifests if m.key.kind != FLUXCONFIG_KIND]
    apply_manifests(admin, [m for m in manifests if m.key.kind == FLUXCONFIG_KIND])

    def reconciled() -> bool:
        live = read_object(admin, fluxconfig) or {}
        current = (live.get("status") or {}).get("observedGeneration") == live.get(
            "metadata", {}
        ).get("generation")
        return current and all(read_object(admin, key) for key in wanted)

    seconds = wait(
        f"FluxConfig {namespace}/{fluxconfig.name} reconciled", reconciled, child, log_path
    )
    status = (read_object(admin, fluxconfig) or {}).get("status") or {}
    return {
        "reconciled_seconds": seconds,
        "applied": [f"{key.kind}/{key.name}" for key in wanted],
        "complianceState": status.get("complianceState"),
        "conditions": {
            c["type"]: f"{c['status']} {c.get('reason', '')}" for c in status.get("conditions", [])
        },
    }


def running_uid(pid: int) -> int:
    """The real uid of a running process (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise ImageError(f"no Uid line in /proc/{pid}/status")


def stop(child: subprocess.Popen[bytes], log_path: Path) -> int:
    """SIGTERM, as the kubelet does; the exit code (killed after the timeout)."""
    child.terminate()
    try:
        return child.wait(timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise ImageError(
            f"the image's reconciler ignored SIGTERM for {CHECK_TIMEOUT:.0f}s; "
            f"its log ({log_path}):\n{tail(log_path)}"
        ) from None


def check() -> dict[str, object]:
    """Run the built image's entrypoint against a fresh local control plane; the figures."""
    _, tag = image_reference()
    layout = layout_dir()
    image = f"{layout}:{tag}"
    listed = (layout / "index.json").exists() and tag in run(
        ["umoci", "ls", "--layout", str(layout)], "umoci ls"
    ).split()
    if not listed:
        raise ImageError(
            f"no image {image}; build it first with `make image` "
            f"(or `.venv/bin/python tools/image.py build`, as root) and retry"
        )
    if os.geteuid() != 0:
        raise ImageError("checking the image needs root (umoci unpack, chroot); run it as root")
    for stale in cache_root().glob("check-*"):  # kept by an earlier failed check
        shutil.rmtree(stale, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="check-", dir=cache_root()))
    log_path = work / "reconciler.log"
    figures: dict[str, object] = {"image": image}
    try:
        with ControlPlane() as control_plane:
            step = time.monotonic()
            rootfs, process = unpack(image, work)
            figures["unpack_seconds"] = round(time.monotonic() - step, 1)
            namespace = f"image-check-{os.urandom(3).hex()}"
            ensure_namespace(connect(str(control_plane.kubeconfig)), namespace)
            child, health, figures["argv"] = start(rootfs, process, control_plane, namespace, work)
            try:
                figures["healthy_seconds"] = wait(
                    "its liveness endpoint", lambda: http_ok(health), child, log_path
                )
                figures["uid"] = running_uid(child.pid)  # chroot has exec'd the entrypoint
                if figures["uid"] != process["user"]["uid"]:
                    raise ImageError(
                        f"the image's reconciler runs as uid {figures['uid']!r}, "
                        f"not the image's USER uid {process['user']['uid']!r}"
                    )
                figures.update(reconcile_one(control_plane, namespace, child, log_path))
            finally:
                figures["exit_code"] = code = stop(child, log_path)
        if code != 0:
            raise ImageError(
                f"the image's reconciler exited with {code} on SIGTERM (expected 0); "
                f"its log ({log_path}):\n{tail(log_path)}"
            )
    except BaseException:
        log(f"kept {work} for inspection")
        raise
    shutil.rmtree(work, ignore_errors=True)
    log(
        f"{image}: healthy after {figures['healthy_seconds']}s, FluxConfig reconciled in "
        f"{figures['reconciled_seconds']}s ({figures['complianceState']}), exit 0 on SIGTERM"
    )
    return figures
