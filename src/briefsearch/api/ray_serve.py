"""The same FastAPI app as a Ray Serve application with N replicas (``briefsearch serve --ray``).

Every replica is ``create_app`` over a searcher it loads from the data
directory (shared on a multi-machine cluster), so each keeps its own
micro-batching and query cache, and its own version poller picks up an index
published by the single writer (``briefsearch add`` or the upload route on
any replica). A replica reports ready to Serve only once its index is loaded,
so the proxy never routes to one still loading. Ray restarts a replica that
dies; ``X-Briefsearch-Replica`` names the replica that answered.
"""

from __future__ import annotations

import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import ray
from ray import serve
from ray.serve.schema import ServeStatus

from briefsearch.api.app import create_app
from briefsearch.config import Settings
from briefsearch.embedding.encoder import configure_threads
from briefsearch.runtime.engine import open_searcher
from briefsearch.runtime.ray_cluster import RayUnavailableError, connect, worker_settings

log = logging.getLogger(__name__)
APP_NAME = "briefsearch"
REPLICA_HEADER = "X-Briefsearch-Replica"
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


class ReplicaHeader:
    """ASGI middleware: every HTTP response names the replica that produced it (for load checks and logs)."""

    def __init__(self, app: Callable[..., Awaitable[None]], replica: str) -> None:
        self.app = app
        self.header = (REPLICA_HEADER.lower().encode(), replica.encode())

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, send_named)


@serve.ingress()
class BriefsearchReplica:
    """One replica: loads model and index in its constructor, then serves ``create_app`` over them."""

    def __init__(self, settings: dict) -> None:
        started = time.perf_counter()
        self.settings = Settings(**settings)
        configure_threads(self.settings.torch_threads)
        self.searcher = open_searcher(self.settings, build=False, progress=False)
        self.replica = serve.get_replica_context().replica_id.unique_id
        log.info("replica %s loaded index %s in %.1f s", self.replica, self.searcher.index.path.name,
                 time.perf_counter() - started)

    def __serve_build_asgi_app__(self) -> Callable[..., Awaitable[None]]:
        app = create_app(self.settings, searcher=self.searcher)
        app.add_middleware(ReplicaHeader, replica=self.replica)
        return app


def application(settings: Settings, replicas: int) -> serve.Application:
    """The Serve application: ``replicas`` copies of the app, each holding ``ray_replica_cpus`` CPUs."""
    deployment = serve.deployment(BriefsearchReplica).options(
        name="BriefsearchReplica", num_replicas=replicas, max_ongoing_requests=settings.ray_max_ongoing_requests,
        ray_actor_options={"num_cpus": settings.ray_replica_cpus},
    )
    return deployment.bind(worker_settings(settings, settings.ray_replica_cpus).model_dump())


def deploy(settings: Settings, replicas: int, host: str, port: int, address: str | None = None,
           replace: bool = False, **init_kwargs: object) -> float:
    """Start or join Ray, start Serve's HTTP proxy on ``host:port`` and deploy; returns the seconds taken.

    Returns once every replica has loaded its index (``serve.run`` waits for them). An application of ours
    already on the cluster is replaced only with ``replace``.
    """
    started = time.perf_counter()
    connect(settings, address, **init_kwargs)
    running = serve.status()
    check_http_address(host, port, running)
    check_not_served(host, port, running, replace)
    serve.start(http_options={"host": host, "port": port})
    serve.run(application(settings, replicas), name=APP_NAME, route_prefix="/")
    return time.perf_counter() - started


def check_http_address(host: str, port: int, running: ServeStatus) -> None:
    """Refuse a ``host:port`` the cluster's running Serve proxies do not listen on.

    Serve's HTTP options are fixed by whoever starts Serve on a cluster; ``serve.start`` with others only logs
    a warning and keeps the old ones, so a second ``serve --ray --port P`` would silently serve elsewhere.
    Moving the proxies would mean shutting down Serve, and every other application on the cluster with it.
    Ray has no public call that reads the running proxies' options (``ServeInstanceDetails.http_options`` comes
    only from the dashboard's REST API, which a local instance here runs without), so this asks the port itself:
    a plain TCP connection to it on this machine, when it runs one of the proxies (``serve.status()`` lists them by
    node). A proxy on the same port bound to another interface that answers here (0.0.0.0 vs 127.0.0.1) passes;
    on a node without a proxy nothing can be asked, and the command goes on as before the check (with a warning).
    """
    if not running.proxies:
        return  # Serve is not running yet: serve.start sets the options
    if ray.get_runtime_context().get_node_id() not in running.proxies:
        log.warning("no Serve proxy runs on this node: cannot check that Serve's proxies listen on %s:%d",
                    host, port)
        return
    try:
        with socket.create_connection(("127.0.0.1" if host in ("0.0.0.0", "::", "") else host, port), timeout=5.0):
            return
    except OSError:
        raise ServeAddressError(
            f"Ray Serve already runs on this cluster and its HTTP proxy does not listen on {host}:{port}: "
            f"Serve keeps the host and port of the first `serve --ray`, which cannot change while it runs. Use "
            f"the --host and --port that command used, or shut Serve down first (`serve shutdown`), which stops "
            f"its applications") from None


def check_not_served(host: str, port: int, running: ServeStatus, replace: bool) -> None:
    """Refuse to replace our application already on the cluster unless asked to: ``serve.run`` under the same
    name replaces it without a word, so a second ``serve --ray`` took over the first one's replicas."""
    if replace or APP_NAME not in running.applications:
        return
    status = running.applications[APP_NAME].status
    status = getattr(status, "value", status)  # an ApplicationStatus: "RUNNING", "DEPLOYING", "DELETING", ...
    raise ServeAddressError(
        f"briefsearch is already served on this cluster on {host}:{port} (Ray Serve application {APP_NAME!r}, "
        f"{status}); a second `serve --ray` would replace it. Stop the running command first (Ctrl-C), or pass "
        f"--replace to replace its application")


class ServeAddressError(RayUnavailableError):
    """Serve already runs on the cluster with its HTTP proxy on another host or port, or already serves our
    application there."""


def wait_for_stop(poll_seconds: float = 0.5) -> int:
    """Block until SIGINT (Ctrl-C) or SIGTERM; returns the signal. A second Ctrl-C then raises KeyboardInterrupt.

    The handlers are installed here whatever the process inherited: a background job of a non-interactive
    shell (``make test > log &``, a CI step) starts with SIGINT ignored, Python keeps it ignored, and Ctrl-C
    did nothing. (``serve`` without ``--ray`` stops because uvicorn installs its handlers the same way.) The
    main thread sleeps in short steps: a signal one of Ray's threads receives runs its Python handler only
    when the main thread next runs Python code.
    """
    received: list[int] = []
    previous_term = signal.getsignal(signal.SIGTERM)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, _frame: received.append(number))
    try:
        while not received:
            time.sleep(poll_seconds)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous_term)
    return received[0]


def undeploy(settings: Settings, address: str | None = None, wait_seconds: float = 60.0) -> None:
    """Remove the application: on a cluster only ours (others may run theirs), on a local instance all of Serve.

    On a cluster the removal is asked for and then waited on for at most ``wait_seconds``: a blocking delete
    could wait without end behind a replica Serve is still restarting, and Ctrl-C must return; the
    controller finishes the removal on its own.
    """
    if not (address or settings.ray_address):
        serve.shutdown()
        return
    serve.delete(APP_NAME, _blocking=False)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        if APP_NAME not in serve.status().applications:
            return
        time.sleep(0.5)
    log.warning("Serve is still removing the application %r after %.0f s; its controller finishes it",
                APP_NAME, wait_seconds)
