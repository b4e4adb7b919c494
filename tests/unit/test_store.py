"""Loading an index that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest

from briefsearch.errors import IndexMissingError
from briefsearch.store.versions import (
    POINTER,
    load_index,
)


def test_load_index_of_empty_dir_is_missing(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="build"):
        load_index(tmp_path / "index")
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / POINTER).write_text("v-gone", encoding="utf-8")
    with pytest.raises(IndexMissingError):
        load_index(tmp_path / "index")
