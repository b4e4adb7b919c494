"""Prometheus metrics for one app: per-endpoint request counts and latencies, plus what is being served.

Each app gets its own ``CollectorRegistry`` (tests build many apps in one
process; the global registry would reject the second). The index and model
figures are read from the app's engine at scrape time, because the searcher
is absent while loading and replaced when documents are added.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_fastapi_instrumentator import Instrumentator, metrics

METRICS_PATH = "/metrics"
# seconds; dense search is tens of ms, /ask and cold encodes reach seconds
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ServedIndexCollector:
    """Documents, passages, index version and model identity of the searcher serving right now."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> list[Metric]:
        return list(self._families(None))

    def collect(self) -> Iterator[Metric]:
        return self._families(_served_searcher(self.app))

    def _families(self, searcher: object | None) -> Iterator[Metric]:
        ready = GaugeMetricFamily("briefsearch_ready", "1 when the model and index are loaded, else 0.")
        documents = GaugeMetricFamily("briefsearch_index_documents", "Documents in the served index.")
        passages = GaugeMetricFamily("briefsearch_index_passages", "Passages (chunks) in the served index.")
        built = GaugeMetricFamily("briefsearch_index_built_timestamp_seconds",
                                  "When the served index was built (Unix time).")
        index = InfoMetricFamily("briefsearch_index", "Identity of the served index version.")
        model = InfoMetricFamily("briefsearch_model", "The embedding model serving queries.")
        if searcher is not None:
            loaded = searcher.index
            documents.add_metric([], len(loaded.documents))
            passages.add_metric([], len(loaded.chunks))
            manifest = loaded.manifest
            try:
                built.add_metric([], datetime.fromisoformat(manifest.built_at).timestamp())
            except (TypeError, ValueError):
                pass
            index.add_metric([], {"version": loaded.path.name, "built_at": str(manifest.built_at),
                                  "format_version": str(manifest.format_version)})
            identity = searcher.encoder.identity
            model.add_metric([], {"name": str(identity.get("name", "")),
                                  "checksum": str(identity.get("checksum", ""))[:12],
                                  "dim": str(identity.get("dim", ""))})
        ready.add_metric([], 0 if searcher is None else 1)
        yield from (ready, documents, passages, built, index, model)


def _served_searcher(app: FastAPI) -> object | None:
    """The searcher serving now: ``app.state.engine.searcher`` (None while loading), else ``app.state.searcher``."""
    engine = getattr(app.state, "engine", None)
    if engine is not None:
        return engine.searcher
    return getattr(app.state, "searcher", None)


def install_metrics(app: FastAPI) -> CollectorRegistry:
    """Count and time every request by route template, method and status class; serve them at /metrics."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)  # memory, CPU, open files of this process
    registry.register(ServedIndexCollector(app))
    instrumentator = Instrumentator(
        should_group_status_codes=True,  # 2xx, 4xx, 5xx: bounded label values
        should_group_untemplated=True,  # unknown paths count as handler="none", not one series each
        excluded_handlers=[f"^{METRICS_PATH}$"],  # scrapes are not traffic
        registry=registry,
    )
    instrumentator.add(
        metrics.requests(registry=registry),
        metrics.latency(registry=registry, buckets=LATENCY_BUCKETS),
    )
    # the exposition format is text/plain; response_class only declares that (the handler builds its own response)
    instrumentator.instrument(app).expose(app, endpoint=METRICS_PATH, include_in_schema=True, tags=["health"],
                                          summary="Prometheus metrics", response_class=PlainTextResponse)
    return registry
