"""The dense vector index: exact below a size, an approximate FAISS type above it.

Exact search (``IndexFlatIP``) scans every vector, so its cost grows with the
corpus; past ``Settings.faiss_exact_below`` passages an approximate type from a
FAISS index-factory string (``Settings.faiss_factory``, HNSW by default) is
built instead. The chosen type is recorded in the manifest, and search reads it
from there, so an index built under other settings still loads and searches.

Filters (documents, dates) must still return their full top k. HNSW applies an
ID selector only to the nodes its walk visits, so a narrow filter would come
back short; a filter that leaves fewer passages than the exact threshold is
therefore scored exactly over just those passages (cheap by the same measure
that sets the threshold), and a wider one uses the selector with the walk
widened to at least k.
"""

from __future__ import annotations

import faiss
import numpy as np

EXACT = "Flat"


def index_type_for(n_vectors: int, exact_below: int, factory: str) -> str:
    """The FAISS factory string for an index of ``n_vectors``: exact below the threshold."""
    return EXACT if n_vectors < exact_below else factory


def check_factory(factory: str, dim: int = 8) -> str:
    """Raise ``ValueError`` unless ``factory`` builds an exact, HNSW or IVF index that can reconstruct vectors."""
    try:
        base = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ValueError(f"FAISS cannot build {factory!r}: {str(exc).splitlines()[-1]}") from exc
    if not isinstance(faiss.downcast_index(base), faiss.IndexFlat | faiss.IndexHNSW | faiss.IndexIVF):
        raise ValueError(f"FAISS index type {factory!r} is not Flat, HNSW or IVF")
    return factory


def build_vector_index(vectors: np.ndarray, ids: np.ndarray, dim: int, factory: str,
                       ef_construction: int = 80) -> faiss.IndexIDMap2:
    """An ID-mapped index of ``factory`` over cosine (inner product of L2-normalised vectors)."""
    base = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)  # owns the C++ object
    inner = faiss.downcast_index(base)  # a view of it, to reach the type's own fields
    if isinstance(inner, faiss.IndexHNSW):
        inner.hnsw.efConstruction = ef_construction
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    if not inner.is_trained:
        inner.train(data)  # IVF: k-means over the vectors themselves
    if isinstance(inner, faiss.IndexIVF):
        inner.make_direct_map()  # reconstruct() by id: builds reuse unchanged passages' vectors
    index = faiss.IndexIDMap2(base)
    if len(ids):
        index.add_with_ids(data, np.asarray(ids, dtype=np.int64))
    return index


def index_kind(index: faiss.Index) -> str:
    """'Flat', 'HNSW' or 'IVF': the family of the index under the ID map (read from the loaded file)."""
    inner = faiss.downcast_index(index.index if isinstance(index, faiss.IndexIDMap) else index)
    if isinstance(inner, faiss.IndexHNSW):
        return "HNSW"
    if isinstance(inner, faiss.IndexIVF):
        return "IVF"
    return EXACT


def factory_kind(factory: str, dim: int) -> str:
    """The family ('Flat', 'HNSW', 'IVF') a factory string builds."""
    return index_kind(faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT))


class VectorSearch:
    """Top-k cosine search over a loaded index of any supported type, with an optional allowed-id set."""

    def __init__(self, index: faiss.Index, ef_search: int = 512, nprobe: int = 16, exact_below: int = 200_000) -> None:
        self.index = index
        self.kind = index_kind(index)
        self.ef_search = ef_search
        self.nprobe = nprobe
        self.exact_below = exact_below

    def search(self, query: np.ndarray, k: int, allowed: set[int] | None = None) -> list[tuple[int, float]]:
        """(id, cosine) best first; ``allowed`` restricts the ids (None: all)."""
        k = min(k, self.index.ntotal)
        if not k or (allowed is not None and not allowed):
            return []
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if allowed is not None and self.kind != EXACT and len(allowed) < self.exact_below:
            return self._exact_subset(query[0], k, allowed)
        sel = faiss.IDSelectorBatch(np.fromiter(allowed, dtype=np.int64)) if allowed is not None else None
        scores, ids = self.index.search(query, k, params=self._params(k, sel))
        return [(i, s) for s, i in zip(scores[0].tolist(), ids[0].tolist(), strict=True) if i >= 0]

    def _params(self, k: int, sel: faiss.IDSelector | None) -> faiss.SearchParameters | None:
        if self.kind == "HNSW":
            return faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k), sel=sel)
        if self.kind == "IVF":
            return faiss.SearchParametersIVF(nprobe=self.nprobe, sel=sel)
        return faiss.SearchParameters(sel=sel) if sel is not None else None

    def _exact_subset(self, query: np.ndarray, k: int, allowed: set[int]) -> list[tuple[int, float]]:
        """Exact cosine over only the allowed ids (their vectors reconstructed from the index)."""
        ids = np.fromiter(allowed, dtype=np.int64)
        scores = self.index.reconstruct_batch(ids) @ query
        top = np.argsort(-scores, kind="stable")[:k]
        return [(int(ids[i]), float(scores[i])) for i in top]
