"""Join the Ray cluster the settings name, or start a local Ray instance, and the settings of a Ray worker:
one place for both Ray commands (``index build --ray`` and ``serve --ray``).

Ray is an optional extra (``pip install -e ".[ray]"``); only ``--ray`` commands import it.
"""

from __future__ import annotations

import logging
import os
import socket

from briefsearch.config import Settings
from briefsearch.errors import BriefsearchError

log = logging.getLogger(__name__)
# every Ray worker (replica, encoder actor) runs its forward passes on one thread each: more threads per pass
# stalled small matmuls on these 2-core machines (docs/performance.md), and Ray reserves whole CPUs per worker
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def worker_settings(settings: Settings, cpus: float) -> Settings:
    """Settings for a Ray worker holding ``cpus`` CPUs: one thread per forward pass, one pass per CPU."""
    passes = max(1, int(cpus))
    return settings.model_copy(update={"torch_threads": 1, "build_workers": passes, "encode_workers": passes})


class RayUnavailableError(BriefsearchError):
    """The ray extra is not installed, or the cluster cannot be reached."""


def connect(settings: Settings, address: str | None = None, **init_kwargs: object) -> None:
    """``ray.init``: join ``address`` (or ``settings.ray_address``) if set, else start a local instance.

    A local instance offers ``settings.ray_num_cpus`` CPUs (default: all cores). Already
    connected (a test, or a second command in one process): nothing to do.
    """
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailableError('Ray is not installed: pip install -e ".[ray]"') from exc
    if ray.is_initialized():
        return
    for name, value in WORKER_ENV.items():  # workers a local instance starts inherit the driver's environment
        os.environ.setdefault(name, value)
    target = address if address is not None else settings.ray_address
    if target and target != "auto":
        _reachable(target)
    try:
        if target:
            ray.init(address=target, **init_kwargs)
            log.info("joined the Ray cluster at %s", target)
        else:
            ray.init(num_cpus=settings.ray_num_cpus, include_dashboard=False, **init_kwargs)
            log.info("started a local Ray instance with %s CPUs", ray.cluster_resources().get("CPU"))
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayUnavailableError(f"cannot start or join Ray ({target or 'local'}): {exc}") from exc


def _reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast on a head that does not answer: ``ray.init`` would retry for minutes first."""
    host, _, port = address.split("://")[-1].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as exc:
        raise RayUnavailableError(f"cannot reach the Ray head at {address}: {exc}") from exc
