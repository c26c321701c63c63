#!/usr/bin/env python3
"""Build the reconciler's container image without a daemon, and check it against a real cluster.

``deploy/Containerfile`` is the one definition of the image (for users with a container engine);
this script reads its facts and builds the same image here, where no engine or registry is
reachable, from Debian packages:

* **base**: ``debootstrap --variant=minbase --include=python3`` of the Debian release the
  Containerfile's bases name (``python:3.11-slim-bookworm`` → bookworm, checked against the final
  stage's ``distroless/python3-debian12``), from the mirror apt on this machine uses, plus the
  non-root user of ``USER``; apt lists, docs and device nodes are dropped.
* **/app**: the build stage's ``RUN`` steps, interpreted (only the verbs the Containerfile uses):
  ``pip install --target …`` of the pinned dependencies (the host's pip, forced to the image's
  Python ABI: ``cp311``/manylinux wheels only), ``pip install --no-deps /src`` of a wheel built
  from exactly the files the stage ``COPY``s into ``/src``, ``rm -rf`` and ``python -m
  compileall`` (run by the image's own Python, in a chroot).
* **config**: ``ENV``, ``USER``, ``EXPOSE``, ``ENTRYPOINT`` and ``CMD`` of the final stage.

``umoci`` packs it as an OCI image layout (two layers: base, ``/app``) tagged with the project
version into ``${FLUXGITOPS_CACHE:-~/.cache/fluxgitops}/image/oci`` (never into the repository)::

    .venv/bin/python tools/image.py build     # no-op when the inputs are unchanged; --force
    .venv/bin/python tools/image.py check     # unpack, chroot, reconcile one FluxConfig
    make image                                # both

The Containerfile's facts come from ``tools/containerfile.py``; ``check`` (``tools/image_check.py``)
unpacks the image (``umoci unpack``), starts a local control plane (``ControlPlane``),
runs the image's ENTRYPOINT + CMD in a chroot as the image's user (the liveness port moved to a
free one, ``--kubeconfig`` added) and waits until it has applied one FluxConfig's objects and
written its status. Needs root and Debian's ``debootstrap`` and ``umoci``
(``apt-get install debootstrap umoci``). Called by ``make image``; ``tests/deploy`` tests the
parsing, the pip platform options and the missing-image error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if not __package__:  # run as a script (python3 tools/image.py): make ``tools.*`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.containerfile import ImageError, ImageFacts, parse_containerfile

REPO = Path(__file__).resolve().parents[1]
CONTAINERFILE = REPO / "deploy" / "Containerfile"
USER_NAME = "nonroot"
"""The name distroless gives uid 65532 (its ``:nonroot`` tag); the uid/gid come from ``USER``."""
BASE_PACKAGES = ("python3",)
"""Installed on top of minbase: Debian's python3 (3.11 on bookworm), as distroless/python3 has."""
DROP_FROM_BASE = (
    "var/lib/apt/lists",
    "var/cache/apt",
    "var/cache/debconf",
    "var/log",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "dev",
)
"""Emptied in the base layer (the runtime mounts /dev; the rest is not needed at run time)."""
SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


def debian_mirror(codename: str, sources: Sequence[Path] = SOURCES) -> str:
    """The URI apt on this machine uses for ``codename`` (deb822 ``.sources`` or one-line)."""
    files: list[Path] = []
    for path in sources:
        files += sorted(path.glob("*")) if path.is_dir() else [path] if path.exists() else []
    for path in files:
        text = path.read_text()
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                parts = [line.partition(":") for line in stanza.splitlines()]
                fields: dict[str, str] = {
                    key.strip(): value.strip()
                    for key, sep, value in parts
                    if sep and not key.startswith("#")
                }
                if (
                    codename in fields.get("Suites", "").split()
                    and "deb" in fields.get("Types", "").split()
                ):
                    return fields["URIs"].split()[0]
        elif path.suffix == ".list" or path.name == "sources.list":
            for line in text.splitlines():
                words = re.sub(r"\[[^]]*\]", "", line).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == codename:
                    return words[1]
    raise ImageError(
        f"no apt source for Debian {codename!r} in {', '.join(map(str, sources))}; "
        f"add one (e.g. 'deb http://deb.debian.org/debian {codename} main') and retry"
    )


def cache_root() -> Path:
    """Where the image and its build caches go (shared by every clone, never the repository)."""
    base = os.environ.get("FLUXGITOPS_CACHE") or str(Path.home() / ".cache" / "fluxgitops")
    return Path(base) / "image"


def image_reference() -> tuple[str, str]:
    """(name, tag) of the image the rendered Deployment runs; the tag is the project version."""
    from fluxgitops.spec.extension import ReconcilerSpec  # noqa: PLC0415 - needs the venv

    name, _, tag = ReconcilerSpec().image.rpartition(":")
    version = str(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"])
    if tag != version:
        raise ImageError(
            f"the Deployment's image {ReconcilerSpec().image!r} (fluxgitops/spec/extension.py) "
            f"is not tagged with the project version {version!r} (pyproject.toml); make them equal"
        )
    return name, tag


def layout_dir() -> Path:
    """The OCI image layout (``oci:<layout>:<tag>`` for skopeo)."""
    return cache_root() / "oci"


def log(message: str) -> None:
    print(f"[image] {message}", file=sys.stderr, flush=True)


def run(argv: Sequence[str], what: str, env: dict[str, str] | None = None) -> str:
    """Run a program; ``ImageError`` with its output's tail when it fails."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    except FileNotFoundError as exc:
        raise ImageError(
            f"{what}: {argv[0]!r} is not installed; `apt-get install debootstrap umoci` and retry"
        ) from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise ImageError(f"{what} failed (exit {done.returncode}): {shlex.join(argv)}\n{tail}")
    return done.stdout


def tree_digest(paths: Sequence[Path], base: Path) -> str:
    """A digest of files' relative paths and contents (caches are keyed by it)."""
    digest = hashlib.sha256()
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(base)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def dir_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_symlink() and p.is_file())


@dataclass(frozen=True)
class ImagePython:
    """The image's own Python: what pip must pick wheels for."""

    version: str  # "3.11"
    glibc: tuple[int, int]  # (2, 36)
    machine: str  # "x86_64"

    def pip_target(self) -> list[str]:
        """pip options selecting wheels for this interpreter (pip does not expand manylinux_2_N)."""
        abi = "cp" + self.version.replace(".", "")
        major, minor = self.glibc
        platforms = [f"manylinux_{major}_{m}_{self.machine}" for m in range(minor, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        platforms += [f"{name}_{self.machine}" for m, name in legacy.items() if m <= minor]
        options = ["--only-binary=:all:", "--implementation", "cp", "--python-version"]
        options += [self.version, "--abi", abi, "--abi", "abi3", "--abi", "none"]
        for platform in [*platforms, "any"]:
            options += ["--platform", platform]
        return options


PROBE = (
    "import platform, sys; v = platform.libc_ver()[1].split('.'); "
    "print('%d.%d' % sys.version_info[:2], v[0], v[1], platform.machine())"
)


def probe_python(rootfs: Path) -> ImagePython:
    """Ask the root filesystem's python3 (in a chroot) for its version, glibc and machine."""
    out = run(["chroot", str(rootfs), "python3", "-c", PROBE], "running the image's python3")
    version, major, minor, machine = out.split()
    return ImagePython(version, (int(major), int(minor)), machine)


def update_suites(codename: str, sources: Sequence[Path] = SOURCES) -> list[tuple[str, str]]:
    """(mirror, suite) of the release's updates and security suites apt on this machine uses."""
    found = []
    for suite in (f"{codename}-updates", f"{codename}-security"):
        try:
            found.append((debian_mirror(suite, sources), suite))
        except ImageError:
            log(f"no apt source for {suite} on this machine: the base gets no updates from it")
    return found


def upgrade(rootfs: Path, suites: Sequence[tuple[str, str]]) -> None:
    """Bring the fresh root filesystem up to date from the updates and security suites."""
    if not suites:
        return
    with (rootfs / "etc/apt/sources.list").open("a") as sources:
        sources.writelines(f"deb {mirror} {suite} main\n" for mirror, suite in suites)
    resolv = rootfs / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)  # a runtime provides its own; apt needs the host's meanwhile
    shutil.copyfile("/etc/resolv.conf", resolv)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log(f"apt-get upgrade from {', '.join(suite for _, suite in suites)}")
    try:
        run(["chroot", str(rootfs), "apt-get", "-q", "update"], "apt-get update in the base", env)
        run(
            ["chroot", str(rootfs), "apt-get", "-qy", "upgrade"], "apt-get upgrade in the base", env
        )
    finally:
        resolv.write_text("")


def build_base(facts: ImageFacts, mirror: str) -> tuple[Path, str]:
    """The Debian root filesystem with Python and the user, cached by release, mirror, packages.

    Rebuild it (``rm -rf ~/.cache/fluxgitops/image/base-*``) to take newer Debian updates.
    """
    suites = update_suites(facts.codename)
    key = hashlib.sha256(
        json.dumps(
            [facts.codename, mirror, suites, BASE_PACKAGES, DROP_FROM_BASE, facts.uid, facts.gid]
        ).encode()
    ).hexdigest()[:16]
    rootfs = cache_root() / f"base-{key}"
    complete = rootfs.with_name(f"{rootfs.name}.complete")  # outside: the rootfs is packed as is
    if complete.exists():
        return rootfs, key
    shutil.rmtree(rootfs, ignore_errors=True)
    debs = cache_root() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    log(f"debootstrap {facts.codename} from {mirror} (minbase + {', '.join(BASE_PACKAGES)})")
    run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(BASE_PACKAGES)}",
            f"--cache-dir={debs}",
            facts.codename,
            str(rootfs),
            mirror,
        ],
        "debootstrap",
    )
    upgrade(rootfs, suites)
    version = probe_python(rootfs).version
    if version != facts.python:
        raise ImageError(
            f"Debian {facts.codename}'s python3 is {version}, the Containerfile's build stage "
            f"uses {facts.python}; change the Containerfile's bases together"
        )
    for relative in DROP_FROM_BASE:
        target = rootfs / relative
        if target.is_dir():
            for child in target.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
    with (rootfs / "etc/passwd").open("a") as passwd:
        passwd.write(
            f"{USER_NAME}:x:{facts.uid}:{facts.gid}::/home/{USER_NAME}:/usr/sbin/nologin\n"
        )
    with (rootfs / "etc/group").open("a") as group:
        group.write(f"{USER_NAME}:x:{facts.gid}:\n")
    home = rootfs / "home" / USER_NAME
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, facts.uid, facts.gid)
    for stale in cache_root().glob("base-*"):
        if stale not in (rootfs, complete):
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
    complete.touch()
    return rootfs, key


def build_wheel(facts: ImageFacts, out: Path) -> Path:
    """A wheel of exactly what the build stage COPYs into /src."""
    with tempfile.TemporaryDirectory(prefix="fluxgitops-src-") as tmp:
        for src, dest in facts.copies:
            if not dest.startswith("/src"):
                raise ImageError(
                    f"Containerfile: COPY {src} {dest}: only copies into /src are supported"
                )
            target = Path(tmp) / dest.removeprefix("/src").lstrip("/")
            source = REPO / src
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), tmp],
            "building the project wheel",
        )
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise ImageError(f"expected one wheel in {out}, found {[w.name for w in wheels]}")
    return wheels[0]


def pip_install(
    python: ImagePython, facts: ImageFacts, argv: list[str], root: Path, wheel: Path
) -> None:
    """``pip install --target DIR [--no-deps] ARGS`` with the host's pip, for the image's ABI."""
    args = argv[2:]
    if "--target" not in args:
        raise ImageError(
            f"Containerfile: {shlex.join(argv)!r}: only pip install --target is supported"
        )
    at = args.index("--target")
    target = root / args[at + 1].lstrip("/")
    rest = args[:at] + args[at + 2 :]
    packages = [str(wheel) if item == "/src" else item for item in rest]
    options = ["--target", "", *python.pip_target(), *packages]
    # pinned packages only (not the project's wheel): installed once, then copied
    key = hashlib.sha256(json.dumps(options).encode()).hexdigest()[:16]
    cached = None if "/src" in rest else cache_root() / f"pip-target-{key}"
    if cached and (cached / ".complete").exists():
        shutil.copytree(
            cached, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete")
        )
        return
    options[1] = str(cached or target)
    env = {**os.environ, **facts.build_env, "PIP_CACHE_DIR": str(cache_root() / "pip")}
    env.pop("PIP_NO_CACHE_DIR", None)  # the host keeps a cache: warm rebuilds download nothing
    run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", *options],
        f"pip install into {args[at + 1]}",
        env=env,
    )
    if cached:
        for old in cache_root().glob("pip-target-*"):
            if old != cached:
                shutil.rmtree(old, ignore_errors=True)
        (cached / ".complete").touch()
        shutil.copytree(
            cached, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete")
        )


def build_app(facts: ImageFacts, rootfs: Path, work: Path) -> Path:
    """Run the build stage's steps into ``work/app`` (compiled by the image's own Python)."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    wheel = build_wheel(facts, work / "wheel")
    python = probe_python(rootfs)
    staged = rootfs / "app"
    shutil.rmtree(staged, ignore_errors=True)
    try:
        for argv in facts.steps:
            if argv[:2] == ["pip", "install"]:
                pip_install(python, facts, argv, rootfs, wheel)
            elif argv[:2] == ["rm", "-rf"]:
                for path in argv[2:]:
                    shutil.rmtree(rootfs / path.lstrip("/"), ignore_errors=True)
            else:  # python -m <module>: the image's own Python
                run(
                    ["chroot", str(rootfs), "python3", *argv[1:]],
                    f"{shlex.join(argv)} in the image",
                )
    finally:
        if staged.exists():
            staged.rename(work / "app")
    if not (work / "app").is_dir():
        raise ImageError("Containerfile: the build stage put nothing under /app")
    return work / "app"


def inputs_digest(facts: ImageFacts, base_key: str) -> str:
    sources = [REPO / src for src, _ in facts.copies]
    return hashlib.sha256(
        (CONTAINERFILE.read_text() + base_key + tree_digest(sources, REPO)).encode()
    ).hexdigest()[:16]


def umoci_config(facts: ImageFacts, image: str, name: str, tag: str) -> None:
    """Image config from the final stage: user, env, entrypoint, cmd, ports, labels."""
    argv = ["umoci", "config", "--image", image, "--config.user", f"{facts.uid}:{facts.gid}"]
    argv += ["--config.workingdir", "/", "--clear=config.env", "--clear=config.entrypoint"]
    argv += ["--clear=config.cmd", "--config.env", "PATH=/usr/local/bin:/usr/bin:/bin"]
    for key, value in facts.env.items():
        argv += ["--config.env", f"{key}={value}"]
    for word in facts.entrypoint:
        argv += ["--config.entrypoint", word]
    for word in facts.cmd:
        argv += ["--config.cmd", word]
    for port in facts.exposed:
        argv += ["--config.exposedports", port if "/" in port else f"{port}/tcp"]
    argv += ["--config.label", f"org.opencontainers.image.title={name}"]
    argv += ["--config.label", f"org.opencontainers.image.version={tag}"]
    argv += ["--history.created_by", "tools/image.py (deploy/Containerfile)"]
    run(argv, "umoci config")


def pack_base(rootfs: Path, base_key: str) -> str:
    """The layout tag of the base layer alone (packed once per base; older bases removed)."""
    layout = layout_dir()
    if not (layout / "index.json").exists():
        run(["umoci", "init", "--layout", str(layout)], "umoci init")
    tags = run(["umoci", "ls", "--layout", str(layout)], "umoci ls").split()
    base_tag = f"base-{base_key}"
    if base_tag not in tags:
        log(f"packing the base layer ({dir_size(rootfs) / 2**20:.0f} MiB)")
        run(["umoci", "new", "--image", f"{layout}:{base_tag}"], "umoci new")
        run(
            ["umoci", "insert", "--image", f"{layout}:{base_tag}", str(rootfs), "/"],
            "umoci insert (base)",
        )
    for old in tags:
        if old.startswith("base-") and old != base_tag:
            run(["umoci", "rm", "--image", f"{layout}:{old}"], "umoci rm")
    return base_tag


def build(force: bool = False) -> dict[str, object]:
    """Build (or reuse) the image; returns the figures recorded in ``build.json``."""
    if os.geteuid() != 0:
        raise ImageError("building the image needs root (debootstrap, chroot); run it as root")
    started = time.monotonic()
    facts = parse_containerfile(CONTAINERFILE.read_text())
    name, tag = image_reference()
    root, layout = cache_root(), layout_dir()
    root.mkdir(parents=True, exist_ok=True)
    record = root / "build.json"
    bases_before = set(root.glob("base-*.complete"))
    debs_before = any((root / "debs").glob("*.deb"))
    rootfs, base_key = build_base(facts, debian_mirror(facts.codename))
    if rootfs.with_name(f"{rootfs.name}.complete") in bases_before:
        kind = "warm (base cached)"
    else:
        kind = "base rebuilt (.debs cached)" if debs_before else "cold"
    digest = inputs_digest(facts, base_key)
    previous = json.loads(record.read_text()) if record.exists() else {}
    image = f"{layout}:{tag}"
    if not force and previous.get("inputs") == digest and (layout / "index.json").exists():
        log(f"{image} is up to date (inputs {digest}); {time.monotonic() - started:.2f}s")
        return {**previous, "kind": "up to date", "seconds": round(time.monotonic() - started, 2)}
    base_tag = pack_base(rootfs, base_key)
    base_seconds = time.monotonic() - started
    step = time.monotonic()
    app = build_app(facts, rootfs, root / "work")
    app_seconds = time.monotonic() - step
    step = time.monotonic()
    run(["umoci", "tag", "--image", f"{layout}:{base_tag}", tag], "umoci tag")
    run(["umoci", "insert", "--image", image, str(app), "/app"], "umoci insert (/app)")
    umoci_config(facts, image, name, tag)
    run(["umoci", "gc", "--layout", str(layout)], "umoci gc")
    figures: dict[str, object] = {
        "image": f"{name}:{tag}",
        "layout": str(layout),
        "inputs": digest,
        "kind": kind,
        "seconds": round(time.monotonic() - started, 1),
        "base_seconds": round(base_seconds, 1),
        "app_seconds": round(app_seconds, 1),
        "pack_seconds": round(time.monotonic() - step, 1),
        "base_mib": round(dir_size(rootfs) / 2**20, 1),
        "app_mib": round(dir_size(app) / 2**20, 1),
        "layout_mib": round(dir_size(layout / "blobs") / 2**20, 1),
    }
    record.write_text(json.dumps(figures, indent=2) + "\n")
    shutil.rmtree(root / "work", ignore_errors=True)
    log(
        f"built {image} ({figures['kind']}) in {figures['seconds']}s: base {base_seconds:.1f}s, "
        f"/app {app_seconds:.1f}s, pack {figures['pack_seconds']}s; unpacked "
        f"{figures['base_mib']} + {figures['app_mib']} MiB, compressed {figures['layout_mib']} MiB"
    )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build the OCI image layout")
    build_cmd.add_argument("--force", action="store_true", help="rebuild /app even if unchanged")
    commands.add_parser("check", help="run the image's entrypoint against a local control plane")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(json.dumps(build(force=args.force), indent=2))
        else:
            from fluxgitops.errors import FluxGitOpsError  # noqa: PLC0415 - needs the venv
            from tools.image_check import check  # noqa: PLC0415

            try:
                figures = check()
            except FluxGitOpsError as exc:  # e.g. the control plane's programs are not built
                raise ImageError(f"check: {exc}") from exc
            print(json.dumps(figures, indent=2))
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
