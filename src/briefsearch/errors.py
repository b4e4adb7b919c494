"""Domain errors raised by the core; the service maps them to HTTP statuses in one place."""


class BriefsearchError(Exception):
    """Base class for every error the core raises on purpose."""


class CorpusError(BriefsearchError):
    """A document or the manifest cannot be read or is invalid."""


class IndexMissingError(BriefsearchError):
    """No built index exists in the data directory."""


class IndexIncompatibleError(BriefsearchError):
    """The index on disk was built by another model or chunker version."""


class ModelError(BriefsearchError):
    """The embedding model cannot be prepared or loaded."""


class UnknownDocumentError(BriefsearchError):
    """A document id that is not in the index."""


class QueryError(BriefsearchError):
    """A query the service cannot run (empty, too long, bad k)."""


class DocumentConflictError(CorpusError):
    """The document is being ingested by another request, or its content is already indexed under another id."""


class UnsupportedFormatError(CorpusError):
    """A file type the corpus cannot ingest."""


class DocumentTooLargeError(CorpusError):
    """An upload above the configured size limit."""


class LibraryBusyError(BriefsearchError):
    """Another change or build holds the writer lock; the request may be retried shortly."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerFaultError(BriefsearchError):
    """The server, not the request, failed (a broken seed file, an index it cannot load); nothing was lost."""


class DocumentBuildError(CorpusError):
    """One document of the library could not be read or parsed while building; ``doc_id`` names it."""

    def __init__(self, doc_id: str, message: str) -> None:
        super().__init__(message)
        self.doc_id = doc_id
