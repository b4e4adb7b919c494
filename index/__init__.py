"""briefsearch core: corpus -> ingest/normalize -> chunk -> embed -> index -> search.

Nothing in this package imports FastAPI; the HTTP layer lives in ``service``.
"""
