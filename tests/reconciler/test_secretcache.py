"""``SecretCache`` on the real API server: a Secret at the version the watch cache holds is not
read again; any other Secret is; values never show; the running reconciler reads protected
settings from its watch."""

from __future__ import annotations

import base64
import uuid

from lightkube import Client
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import Secret

from fluxgitops.kube.apply import ensure_namespace
from fluxgitops.manifest import ObjectKey
from reconciler.runner import ReconcilerThread
from reconciler.secretcache import SecretCache
from tests.reconciler.support import apply_fluxconfig, https_config, status_of, wait_for


def _secret(admin: Client, namespace: str, password: str) -> dict[str, object]:
    """Create or replace Secret ``namespace/creds``; its body as the API returned it."""
    ensure_namespace(admin, namespace)
    data = {"password": base64.b64encode(password.encode()).decode()}
    body = Secret(metadata=ObjectMeta(name="creds", namespace=namespace), data=data)
    live = admin.apply(body, field_manager="test-secretcache", force=True)
    return live.to_dict()


def _version(body: dict[str, object]) -> int:
    return int(body["metadata"]["resourceVersion"])  # type: ignore[index]


def test_secret_at_the_watched_version_is_not_read_again(admin: Client) -> None:
    namespace = f"sc-{uuid.uuid4().hex[:8]}"
    delivered = _secret(admin, namespace, "from-the-watch")
    key = ObjectKey("v1", "Secret", namespace, "creds")
    cache = SecretCache({key: _version(delivered)}.get)
    cache.seen("ADDED", delivered)
    _secret(admin, namespace, "changed-on-the-server")  # not delivered: the cache is not told
    assert cache.read(admin, namespace, "creds") == {"password": "from-the-watch"}
    assert (cache.hits, cache.reads) == (1, 0)


def test_secret_changed_since_the_event_is_read_from_the_api(admin: Client) -> None:
    namespace = f"sc-{uuid.uuid4().hex[:8]}"
    delivered = _secret(admin, namespace, "from-the-watch")
    changed = _secret(admin, namespace, "written-since")
    key = ObjectKey("v1", "Secret", namespace, "creds")
    cache = SecretCache({key: _version(changed)}.get)  # e.g. an apply response
    cache.seen("MODIFIED", delivered)
    assert cache.read(admin, namespace, "creds") == {"password": "written-since"}
    assert (cache.hits, cache.reads) == (0, 1)


def test_secret_not_watched_is_read_from_the_api(admin: Client) -> None:
    namespace = f"sc-{uuid.uuid4().hex[:8]}"
    _secret(admin, namespace, "unlabelled")
    cache = SecretCache()
    assert cache.read(admin, namespace, "creds") == {"password": "unlabelled"}
    assert cache.read(admin, namespace, "missing") is None
    assert (cache.hits, cache.reads, len(cache)) == (0, 2, 0)


def test_deleted_secret_is_forgotten(admin: Client) -> None:
    namespace = f"sc-{uuid.uuid4().hex[:8]}"
    delivered = _secret(admin, namespace, "gone-soon")
    cache = SecretCache(lambda _key: _version(delivered))
    cache.seen("ADDED", delivered)
    cache.seen("DELETED", delivered)
    assert len(cache) == 0


def test_cache_repr_shows_no_values(admin: Client) -> None:
    namespace = f"sc-{uuid.uuid4().hex[:8]}"
    cache = SecretCache()
    cache.seen("ADDED", _secret(admin, namespace, "s3cr3t-value"))
    shown = repr(cache) + str(cache)
    assert "s3cr3t" not in shown
    assert base64.b64encode(b"s3cr3t-value").decode() not in shown
    assert shown.startswith("SecretCache(1 Secrets, values not shown)")


def test_reconciler_reads_protected_settings_from_its_watch(
    admin: Client, reconciler: ReconcilerThread, namespace: str
) -> None:
    secrets = reconciler.reconciler.secrets
    auth = ObjectKey("v1", "Secret", namespace, "web-auth")
    apply_fluxconfig(admin, https_config("web", namespace))
    wait_for("the first reconcile", lambda: status_of(admin, namespace, "web").get("inventory"))
    wait_for("the auth Secret's watch event", lambda: auth in secrets)
    reads = secrets.reads
    hits = secrets.hits
    apply_fluxconfig(admin, https_config("web", namespace, apps={"path": "apps"}))
    wait_for(
        "the second reconcile",
        lambda: "web-apps" in str(status_of(admin, namespace, "web").get("inventory")),
    )
    assert secrets.hits > hits
    assert secrets.reads == reads
