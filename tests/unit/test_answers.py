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


def test_figure_questions_and_sentences_stating_figures() -> None:
    from briefsearch.answer.question_type import asks_figure, states_figure

    for question in ("상하이는 미래산업 클러스터를 몇 개 육성하나?", "광둥성 인공지능 기금의 규모는?",
                     "투자 금액은 얼마인가?", "산업별로 발굴해야 하는 시나리오 수는?",
                     "How many satellites will the cluster have?",
                     "What share of GDP do the six provinces hold?"):
        assert asks_figure(question), question
    for question in ("폐배터리 재활용 기술은 얼마나 성숙했나?", "광둥성의 범용 AI 산업 목표는?", "Who led the team?"):
        assert not asks_figure(question), question
    assert states_figure("장쑤성 우시시 정부는 1억 위안 규모의 특별기금을 조성")
    assert states_figure("두 개의 거점을 구축")
    assert not states_figure("범용 인공지능 혁신 생태계 조성")


def test_calibrate_weighs_each_item_by_its_own_set() -> None:
    """A wrong answer and a near-domain negative count against one threshold, each over its own set."""
    threshold, missed, false = calibrate([0.9, 0.95, 0.97], [0.8, 0.85, 0.96], [1, 1, 1], [0.1, 0.1, 3])
    assert 0.96 < threshold < 0.97 and missed == 2 and false == 0
    assert calibrate([0.9, 0.95, 0.97], [0.8, 0.85, 0.96])[0] < 0.9  # unweighted: one false answer is cheaper
