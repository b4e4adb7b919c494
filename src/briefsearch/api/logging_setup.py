"""Process logging for the server: one stderr handler, text or JSON, with uvicorn's loggers routed through it.

Log shippers want one JSON object per line; people at a terminal want plain
lines. Both show the structured ``extra`` fields (request id, route, status...)
that the access log attaches to its records.

The level is set on the handler as well as on the root logger: a library that sets its own
logger's level (bm25s sets DEBUG when imported, and logs "Building index from tokens" on
every build) would otherwise put its debug lines through our handler.
"""

from __future__ import annotations

import json
import logging

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from briefsearch.config import Settings

HANDLER_NAME = "briefsearch"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# LogRecord's own attributes, plus uvicorn's ANSI-coloured copy of the message
_NOT_EXTRA = frozenset([*RESERVED_ATTRS, "taskName", "color_message"])


class TextFormatter(logging.Formatter):
    """Plain lines: time, level, logger, message, then any ``extra`` fields as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = [f"{key}={_text_value(value)}" for key, value in record.__dict__.items() if key not in _NOT_EXTRA]
        return f"{line} {' '.join(extras)}" if extras else line


def _text_value(value: object) -> str:
    text = str(value)
    if isinstance(value, str) and (not text or any(c.isspace() or c in "\"=" for c in text)):
        return json.dumps(value, ensure_ascii=False)
    return text


def json_formatter() -> logging.Formatter:
    """One JSON object per record: time (UTC ISO 8601), level, logger, message and the ``extra`` fields."""
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        reserved_attrs=sorted(_NOT_EXTRA),
        timestamp="time",
        json_ensure_ascii=False,  # Korean queries stay readable
    )


def build_formatter(log_format: str) -> logging.Formatter:
    return json_formatter() if log_format == "json" else TextFormatter()


def configure_logging(settings: Settings) -> None:
    """Send every logger through one stderr handler in ``settings.log_format`` at ``settings.log_level``.

    The root logger's handlers are replaced (a server process owns its logging),
    so calling this twice leaves exactly one handler. uvicorn's loggers lose their
    own handlers and propagate to root, so their lines share the format.
    """
    handler = logging.StreamHandler()
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(build_formatter(settings.log_format))
    handler.setLevel(settings.log_level)  # library loggers with their own level (bm25s: DEBUG) stop here
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)


def configure_cli_logging(verbose: bool) -> None:
    """The CLI's stderr lines, ``LEVEL message``: warnings and errors, and INFO with ``--verbose``.

    A no-op when the root logger already has handlers (``logging.basicConfig``), e.g. under pytest.
    """
    level = logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler()
    handler.setLevel(level)  # as in configure_logging: no library's debug lines
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])
