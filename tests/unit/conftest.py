"""The unit tier runs without the model and without an index, in seconds.

The session fixtures that load the model or build the index are replaced here by ones that fail
loudly, so a unit test cannot reach them by accident: such a test belongs in tests/integration/.
When only unit tests run, no test may leave the model's libraries imported either.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).parent
MODEL_FIXTURES = ("encoder", "searcher", "client", "live_server", "scratch_settings")
MODEL_LIBRARIES = ("torch", "sentence_transformers", "transformers", "onnxruntime")


def _refuse(name: str):
    @pytest.fixture(name=name)
    def refused():
        pytest.fail(f"a unit test asked for the {name!r} fixture, which needs the model or the index: "
                    "move the test to tests/integration/")

    return refused


for _name in MODEL_FIXTURES:
    globals()[f"_refused_{_name}"] = _refuse(_name)


@pytest.fixture(autouse=True)
def _no_model_libraries(request: pytest.FixtureRequest):
    """After each unit test, the model's libraries are still not imported (checked when only unit tests run)."""
    yield
    if all(UNIT_DIR in item.path.parents for item in request.session.items):
        loaded = [name for name in MODEL_LIBRARIES if name in sys.modules]
        assert not loaded, f"{request.node.nodeid} imported {loaded}: the unit tier must not load the model"
