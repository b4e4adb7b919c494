"""Extractive answers: the one to three corpus sentences that best answer a question, each cited.

Every sentence of every passage was embedded at build time (``sentences.npy``),
so answering costs one retrieval plus dot products: a sentence scores by its
cosine to the question plus how much of the question's (idf-weighted) terms it
contains. Nothing in an answer is text that is not in the corpus; the only
generated words are the "no answer" message and the citation markers.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field

from index.chunk import Chunk
from index.lexical import Term
from index.search import Searcher, SearchFilters, SearchHit, SearchResult

NO_ANSWER = (
    "제공된 브리핑 자료에서 이 질문에 대한 답을 "
    "찾지 못했습니다. 가장 가까운 문단을 참고로 "
    "함께 보여 드립니다."
)
_FOLLOWUP_WORDS = ("그럼", "그러면", "그렇다면", "그리고", "그런데", "그건", "그것은?", "그게", r"그\s",
                   "이건", "이것은?", "거기", "해당", "또한?", "반면")
_FOLLOWUP_START = re.compile("^(" + "|".join(_FOLLOWUP_WORDS) + ")")
_CONTENT_TAGS = frozenset({"NNG", "NNP", "SL", "SH", "SN", "XR", "VV", "VA"})
_MIN_SENTENCE_CHARS = 12


@dataclass(slots=True)
class AnswerCitation:
    """Where one answer sentence is, exactly."""

    n: int
    chunk_id: int
    doc_id: str
    title: str
    section: str
    page: int | None
    source: str
    char_start: int
    char_end: int
    line_start: int
    line_end: int
    text: str


@dataclass(slots=True)
class Answer:
    question: str
    query: str  # the question as retrieved (follow-ups resolved against earlier turns)
    answer: str
    answerable: bool
    confidence: float
    citations: list[AnswerCitation]
    hits: list[SearchHit]
    took_ms: float
    features: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Candidate:
    chunk: Chunk
    index: int  # sentence index within the chunk
    text: str
    cosine: float
    coverage: float
    score: float


def resolve_followup(history: list[str], question: str, searcher: Searcher) -> str:
    """Make a short follow-up ("그럼 상하이는?", "그 목표 연도는?") self-contained using earlier user turns.

    Earlier turns are resolved first, so chains work. A follow-up starts with a
    connective or demonstrative, or carries at most two content terms. When it
    names a new proper noun, that noun takes the place of the previous turn's
    proper nouns; otherwise the previous turn is prefixed for context.
    """
    resolved_prev = ""
    for turn in history:
        resolved_prev = _resolve_one(resolved_prev, turn, searcher) if resolved_prev else turn
    if not resolved_prev:
        return question
    return _resolve_one(resolved_prev, question, searcher)


def _resolve_one(previous: str, question: str, searcher: Searcher) -> str:
    tokens = searcher.analyzer.korean.tokenize(question)
    content = [t for t in tokens if t.tag in _CONTENT_TAGS]
    if not (_FOLLOWUP_START.match(question.strip()) or len(content) <= 2):
        return question
    new_proper = [question[t.start : t.start + t.len] for t in tokens if t.tag == "NNP"]
    if new_proper:
        prev_tokens = searcher.analyzer.korean.tokenize(previous)
        old_proper = [previous[t.start : t.start + t.len] for t in prev_tokens if t.tag == "NNP"]
        if old_proper:
            replaced = previous
            for old in dict.fromkeys(old_proper):
                replaced = replaced.replace(old, " ".join(new_proper))
            return _within_limit(replaced, question, searcher)
    return _within_limit(previous, question, searcher)


def _within_limit(context: str, question: str, searcher: Searcher) -> str:
    """``context question``, or, when that is over the query limit, the question whole after the context's
    salient terms (proper nouns first, then other content words, each once, in their order) that fit."""
    limit = searcher.settings.max_query_chars
    joined = f"{context} {question}"
    budget = limit - len(question) - 1
    if len(joined) <= limit or budget <= 0:
        return joined if len(joined) <= limit else question
    tokens = searcher.analyzer.korean.tokenize(context)
    words = [(t.start, context[t.start : t.start + t.len], t.tag) for t in tokens if t.tag in _CONTENT_TAGS]
    seen: set[str] = set()
    ranked = []
    for start, word, _tag in sorted(words, key=lambda w: (w[2] != "NNP", w[0])):
        if word not in seen:
            seen.add(word)
            ranked.append((start, word))
    kept: list[tuple[int, str]] = []
    used = 0
    for start, word in ranked:
        if used + len(word) + 1 <= budget:
            kept.append((start, word))
            used += len(word) + 1
    return " ".join([w for _, w in sorted(kept)] + [question])


class Answerer:
    """Picks answer sentences from retrieved passages and decides whether the corpus answers at all."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        settings = searcher.settings
        self.threshold = settings.answer_threshold
        self.lexical_weight = settings.answer_lexical_weight
        self.passages = settings.answer_passages
        chunks = searcher.index.chunks
        df: dict[str, int] = {}
        for chunk in chunks.values():
            for term in set(chunk.terms):
                df[term] = df.get(term, 0) + 1
        self.n_chunks = max(1, len(chunks))
        self.df = df

    def idf(self, term: str) -> float:
        # unseen terms weigh most: a question about something the corpus never mentions is not covered
        return math.log(1 + self.n_chunks / (self.df.get(term, 0) + 0.5))

    def ask(self, question: str, k: int = 5, mode: str | None = None, filters: SearchFilters | None = None,
            history: list[str] | None = None) -> Answer:
        started = time.perf_counter()
        query = resolve_followup(history or [], question, self.searcher) if history else question
        result = self.searcher.search(query, k, mode, filters)
        query_terms = result.terms
        candidates = self._candidates(result, result.hits[: self.passages])
        features = self._features(candidates, query_terms)
        confidence = features["confidence"]
        answerable = bool(candidates) and confidence >= self.threshold
        citations: list[AnswerCitation] = []
        text = NO_ANSWER
        if answerable:
            chosen = self._choose(candidates)
            parts = []
            for n, cand in enumerate(chosen, start=1):
                citations.append(self._cite(n, cand))
                parts.append(f"{cand.text} [{n}]")
            text = " ".join(parts)
        return Answer(question=question, query=result.query, answer=text, answerable=answerable,
                      confidence=round(confidence, 4), citations=citations, hits=result.hits,
                      took_ms=(time.perf_counter() - started) * 1000, features=features)

    def _candidates(self, result: SearchResult, hits: list[SearchHit]) -> list[_Candidate]:
        if not hits:
            return []
        vector = result.vector if result.vector is not None else self.searcher.encoder.encode_queries(
            [result.query])[0]
        weights = {t.term: self.idf(t.term) for t in result.terms}
        total = sum(weights.values()) or 1.0
        out: list[_Candidate] = []
        matrix = self.searcher.index.sentence_vectors
        for hit in hits:
            chunk = hit.chunk
            for i, (a, b, *_) in enumerate(chunk.sentences):
                sentence = chunk.text[a:b].strip()
                if len(sentence) < _MIN_SENTENCE_CHARS or i >= len(chunk.sentence_rows):
                    continue
                cosine = float(matrix[chunk.sentence_rows[i]] @ vector)
                terms = set(chunk.sentence_terms[i])
                coverage = sum(w for t, w in weights.items() if t in terms) / total
                score = cosine + self.lexical_weight * coverage
                out.append(_Candidate(chunk, i, sentence, cosine, coverage, score))
        return out

    def _features(self, candidates: list[_Candidate], query_terms: list[Term]) -> dict[str, float]:
        if not candidates:
            return {"confidence": 0.0, "best_cosine": 0.0, "best_coverage": 0.0}
        best = max(candidates, key=lambda c: c.score)
        coverage = max(c.coverage for c in candidates)
        # the best sentence's similarity, lifted by how much of the question the passages cover
        confidence = best.cosine + self.lexical_weight * coverage
        return {"confidence": confidence, "best_cosine": best.cosine, "best_coverage": coverage}

    def _choose(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """The best sentence, plus up to two close runners-up, in reading order."""
        ranked = sorted(candidates, key=lambda c: -c.score)
        best = ranked[0]
        chosen = [best]
        seen = {best.text}
        for cand in ranked[1:]:
            if len(chosen) == 3 or cand.score < best.score - 0.03:
                break
            if cand.text in seen:
                continue
            chosen.append(cand)
            seen.add(cand.text)
        return sorted(chosen, key=lambda c: (c.chunk.doc_id, c.chunk.sentences[c.index][2]))

    def _cite(self, n: int, cand: _Candidate) -> AnswerCitation:
        chunk = cand.chunk
        _, _, src_start, src_end, line_start, line_end = chunk.sentences[cand.index]
        doc = self.searcher.index.documents[chunk.doc_id]
        return AnswerCitation(
            n=n, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section,
            page=chunk.page, source=doc.source, char_start=src_start, char_end=src_end,
            line_start=line_start, line_end=line_end, text=cand.text,
        )
