"""briefsearch: semantic search and extractive QA over Korean policy briefings.

The stages are subpackages, in the order data flows through them:
ingest -> structure -> chunking -> embedding -> store (the build side, driven by ``build``),
then retrieval -> answer (the query path), kept loaded by ``runtime`` and served by ``api``.
"""

__version__ = "0.1.0"
