"""Answer building blocks without the model: calibration, bullet glyphs, figure questions."""

from __future__ import annotations

from briefsearch.evaluation.answers import calibrate


def test_calibrate_picks_the_separating_threshold() -> None:
    threshold, missed, false = calibrate([0.9, 0.95, 0.97], [0.8, 0.85])
    assert 0.85 < threshold <= 0.9 and missed == 0 and false == 0


def test_bullet_prefix_covers_the_briefings_glyphs() -> None:
    from briefsearch.text.bullets import bullet_prefix

    for text in ("- 내용", "ㅇ 내용", "m 내용", "❍ 내용", "■ 내용", "□ ○ 내용", "• 내용"):
        assert text[bullet_prefix(text):] == "내용", text
    assert bullet_prefix("m2 면적") == 0 and bullet_prefix("ㅇㅇ시") == 0 and bullet_prefix("내용") == 0


def test_calibrate_weighs_each_item_by_its_own_set() -> None:
    """A wrong answer and a near-domain negative count against one threshold, each over its own set."""
    threshold, missed, false = calibrate([0.9, 0.95, 0.97], [0.8, 0.85, 0.96], [1, 1, 1], [0.1, 0.1, 3])
    assert 0.96 < threshold < 0.97 and missed == 2 and false == 0
    assert calibrate([0.9, 0.95, 0.97], [0.8, 0.85, 0.96])[0] < 0.9  # unweighted: one false answer is cheaper


def test_the_answer_confidence_is_documented_as_a_score_with_its_thresholds() -> None:
    """Issue 27: `ask` printed "(confidence 1.086, …)", which reads as a probability above 1. The field keeps its
    name; the schema (what /ask's OpenAPI and the MCP tool's output declare) says it is a score and where it
    answers."""
    from briefsearch.api.schemas import AskResponse
    from briefsearch.config import Answering

    field = AskResponse.model_json_schema()["properties"]["confidence"]
    tuned = Answering()
    assert field["title"] == "Answer score"
    assert "not a probability" in field["description"]
    assert str(tuned.threshold) in field["description"] and str(tuned.crosslingual_threshold) in field["description"]
