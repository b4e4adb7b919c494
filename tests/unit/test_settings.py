"""The settings an operator reads, and the tuned parameters beside them: no model, no index.

- at most 45 operator settings (flat fields), each with a one-line description and no history in it;
- the tuned parameters in frozen groups, set from the environment as BRIEFSEARCH_<GROUP>__<NAME>;
- every tuned parameter documented once, in docs/configuration.md (its own group's section), not in the code;
- the defaults pinned: the outcomes of search and /ask, and the index's identity, follow from them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from briefsearch.chunking.chunker import CHUNKER_VERSION
from briefsearch.config import GROUPS, Settings
from briefsearch.store.lexical import ANALYZER_VERSION
from briefsearch.store.versions import chunker_identity

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
MAX_OPERATOR_SETTINGS = 45
MAX_DESCRIPTION_CHARS = 110

# the defaults as they were when the settings were grouped (commit 535d751): the eval outcomes are measured on them
OPERATOR_DEFAULTS = {
    "model": "default", "second_model": "", "encoder_backend": "onnx", "torch_threads": 1, "embed_batch_size": 2,
    "build_workers": 2,
    "micro_batching": True, "encode_workers": 2, "query_cache_size": 1024, "search_mode": "hybrid",
    "faiss_exact_below": 100_000, "faiss_factory": "HNSW32", "faiss_ef_search": 512, "faiss_ef_construction": 80,
    "faiss_nprobe": 16, "sentence_vector_dtype": "float16", "host": "127.0.0.1", "port": 8000, "public_url": "",
    "cors_origins": "", "api_keys": "", "max_query_chars": 2000, "max_k": 50, "max_body_bytes": 262_144,
    "max_upload_bytes": 20_971_520, "max_chat_messages": 100,
    "max_message_chars": 20_000,
    "lock_wait_seconds": 5.0, "cli_lock_wait_seconds": 600.0, "extract_timeout": 120.0, "extract_memory_mb": 2048,
    "reload_interval": 2.0, "log_format": "text", "log_level": "INFO", "log_queries": False, "ray_address": "",
    "ray_num_cpus": None, "ray_replicas": 2, "ray_replica_cpus": 1.0, "ray_max_ongoing_requests": 16,
    "ray_embed_batch_size": 64, "ray_embed_concurrency": 2, "ray_embed_cpus": 1.0,
}
TUNED_DEFAULTS = {
    "prompts": {"query": "query: ", "passage": "passage: "},
    "chunking": {"max_tokens": 256, "overlap_sentences": 1},
    "bm25": {"k1": 1.2, "b": 0.75},
    "ranking": {"fusion": "weighted", "rrf_k": 60, "dense_weight": 0.6, "sentence_weight": 0.2, "depth": 100,
                "query_aliases": True, "dedup_overlap": 0.6, "second_weight": 0.8},
    "crosslingual": {"latin_share": 0.5, "dense_only": True, "sentence_weight": 0.6, "bridge_weight": 0.2,
                     "bridge_terms": 5000, "bridge_floor": 0.88, "bridge_per_word": 3},
    "answer": {"threshold": 0.9933, "crosslingual_threshold": 0.8923,
               "fused_crosslingual_threshold": 0.8772, "lexical_weight": 0.1, "passage_weight": 0.15,
               "bridge_coverage_weight": 0.02, "margin_weight": 0.3, "novelty_weight": 0.05, "window": 0.05,
               "passages": 1, "continuation": 1, "join_wrapped": 2},
}


def _operator_fields() -> dict:
    return {name: field for name, field in Settings.model_fields.items() if name not in GROUPS}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No BRIEFSEARCH_ variable of the caller's shell leaks into the settings read here."""
    import os

    for name in [n for n in os.environ if n.startswith("BRIEFSEARCH_")]:
        monkeypatch.delenv(name)
    return monkeypatch


def test_at_most_45_operator_settings_each_with_a_one_line_description() -> None:
    fields = _operator_fields()
    assert len(fields) <= MAX_OPERATOR_SETTINGS, f"{len(fields)} operator settings; at most {MAX_OPERATOR_SETTINGS}"
    for name, field in fields.items():
        text = field.description or ""
        assert text, f"{name} has no description"
        assert "\n" not in text and len(text) <= MAX_DESCRIPTION_CHARS, f"{name}: not one short line: {text!r}"
        # figures, reports and history belong in docs/ and research/, not in the field
        assert not re.search(r"research/|bench/|reports|\.md\b|measured|swept|tuned|\d\.\d", text), (name, text)


def test_every_group_is_frozen_and_its_fields_carry_no_description() -> None:
    """Tuned parameters are documented once, in docs/configuration.md, not in the code."""
    settings = Settings()
    for name, group in GROUPS.items():
        assert issubclass(group, BaseModel) and Settings.model_fields[name].annotation is group
        assert group.model_config.get("frozen") is True, name
        for field_name, field in group.model_fields.items():
            assert not field.description, f"{name}.{field_name}: document it in docs/configuration.md instead"
        with pytest.raises(ValidationError):
            setattr(getattr(settings, name), next(iter(group.model_fields)), None)


def test_the_defaults_are_unchanged() -> None:
    """The regression guard of the outcomes: every default as it was before the settings were grouped."""
    defaults = {name: field.default for name, field in _operator_fields().items()
                if name not in ("data_dir", "corpus_dir")}
    assert defaults == OPERATOR_DEFAULTS
    assert {name: group().model_dump() for name, group in GROUPS.items()} == TUNED_DEFAULTS
    assert {name: Settings.model_fields[name].default.model_dump() for name in GROUPS} == TUNED_DEFAULTS


def test_the_chunker_identity_keeps_its_manifest_keys() -> None:
    """An index built before the grouping stays compatible: the manifest's ``chunker`` is the same dict."""
    assert chunker_identity(Settings()) == {
        "version": CHUNKER_VERSION, "max_chunk_tokens": 256, "overlap_sentences": 1, "passage_prefix": "passage: ",
        "lexical_analyzer": ANALYZER_VERSION, "bm25": {"k1": 1.2, "b": 0.75}}
    changed = Settings().tuned(chunking={"max_tokens": 128}, prompts={"passage": ""}, bm25={"b": 0.5})
    assert chunker_identity(changed) | {"version": 0, "lexical_analyzer": 0} == {
        "version": 0, "max_chunk_tokens": 128, "overlap_sentences": 1, "passage_prefix": "",
        "lexical_analyzer": 0, "bm25": {"k1": 1.2, "b": 0.5}}


def test_nested_environment_variables_set_the_tuned_parameters(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BRIEFSEARCH_RANKING__DENSE_WEIGHT", "0.5")
    clean_env.setenv("BRIEFSEARCH_ANSWER__THRESHOLD", "0.98")
    clean_env.setenv("BRIEFSEARCH_CROSSLINGUAL__DENSE_ONLY", "false")
    clean_env.setenv("BRIEFSEARCH_CHUNKING__MAX_TOKENS", "200")
    clean_env.setenv("BRIEFSEARCH_PROMPTS__QUERY", "")
    clean_env.setenv("BRIEFSEARCH_PORT", "9000")
    settings = Settings()
    assert settings.ranking.dense_weight == 0.5 and settings.answer.threshold == 0.98
    assert settings.crosslingual.dense_only is False and settings.chunking.max_tokens == 200
    assert settings.prompts.query == "" and settings.port == 9000
    # the rest of each group keeps its defaults
    assert settings.ranking.sentence_weight == 0.2 and settings.answer.passages == 1
    assert settings.crosslingual.bridge_weight == 0.2 and settings.prompts.passage == "passage: "
    # a settings object passed whole to another process (Ray actors) reads back equal
    assert Settings(**settings.model_dump()) == settings


@pytest.mark.parametrize(("name", "value"), [
    ("BRIEFSEARCH_RANKING__DENSE_WEIGHT", "1.5"),  # out of range
    ("BRIEFSEARCH_ANSWER__PASSAGES", "0"),
    ("BRIEFSEARCH_RANKING__DENSE_WIEGHT", "0.5"),  # a misspelt parameter is refused, not ignored
    ("BRIEFSEARCH_CROSSLINGUAL__BRIDGE_FLOOR", "high"),
])
def test_a_bad_nested_variable_fails_at_start_up(clean_env: pytest.MonkeyPatch, name: str, value: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_tuned_copies_validate_and_leave_the_original_alone() -> None:
    settings = Settings()
    changed = settings.tuned(answer={"threshold": 0.5}, ranking={"dense_weight": 0.4})
    assert (changed.answer.threshold, changed.ranking.dense_weight) == (0.5, 0.4)
    assert (settings.answer.threshold, settings.ranking.dense_weight) == (0.9933, 0.6)
    assert changed.answer.window == settings.answer.window and changed.crosslingual == settings.crosslingual
    with pytest.raises(ValidationError):
        settings.tuned(ranking={"dense_weight": 2.0})
    with pytest.raises(ValidationError):
        settings.tuned(answer={"treshold": 0.5})
    with pytest.raises(ValueError, match="no group"):
        settings.tuned(answers={"threshold": 0.5})


def _sections(text: str) -> dict[str, str]:
    """docs/configuration.md's level-3 sections by heading (the groups' tables)."""
    parts = re.split(r"^### +(.+?)\s*$", text, flags=re.M)
    return {parts[i].strip("` ").lower(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_tuned_parameter_is_documented_in_its_group_section() -> None:
    """A table row per parameter, in the section named after its group, with the default value shown."""
    sections = _sections(CONFIGURATION.read_text(encoding="utf-8"))
    missing = []
    for name, group in GROUPS.items():
        body = sections.get(name)
        if body is None:
            missing.append(f"### {name} (section)")
            continue
        for field_name in group.model_fields:
            variable = f"BRIEFSEARCH_{name}__{field_name}".upper()
            row = next((line for line in body.splitlines() if line.startswith("|") and f"`{variable}`" in line), None)
            if row is None:
                missing.append(variable)
            elif len([c for c in row.split("|")[1:-1] if c.strip()]) < 4:
                missing.append(f"{variable} (parameter, default, what it does, what chose it)")
    assert not missing, f"docs/configuration.md lacks: {missing}"


def test_every_operator_setting_is_in_the_configuration_page() -> None:
    text = CONFIGURATION.read_text(encoding="utf-8")
    missing = [name for name in _operator_fields() if f"BRIEFSEARCH_{name.upper()}" not in text]
    assert not missing, f"docs/configuration.md does not name: {missing}"


@pytest.mark.parametrize(("name", "hint"), [
    ("BRIEFSEARCH_DENSE_WEIGHT", "BRIEFSEARCH_RANKING__DENSE_WEIGHT"),  # a flat name from before the groups
    ("BRIEFSEARCH_ANSWER_THRESHOLD", "BRIEFSEARCH_ANSWER__THRESHOLD"),
    ("BRIEFSEARCH_DATA_DIRR", "BRIEFSEARCH_DATA_DIR"),  # a typo of an operator setting
    ("BRIEFSEARCH_LATE_INTERACTION", None),  # an option that left the package (research/)
])
def test_an_unknown_variable_is_refused_with_the_name_it_may_mean(clean_env: pytest.MonkeyPatch, name: str,
                                                                  hint: str | None) -> None:
    clean_env.setenv(name, "1")
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = str(caught.value)
    assert f"{name} is not a setting" in message
    assert (f"did you mean {hint}?" in message) if hint else "did you mean" not in message


def test_every_documented_kind_of_variable_is_accepted(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BRIEFSEARCH_API_KEY", "k")  # the CLI's --api-key, not a setting
    clean_env.setenv("BRIEFSEARCH_LOG_LEVEL", "debug")
    clean_env.setenv("BRIEFSEARCH_ANSWER", '{"threshold": 0.9}')  # a whole group as JSON
    settings = Settings()
    assert settings.log_level == "DEBUG" and settings.answer.threshold == 0.9
