"""Extractive answers: the one to three corpus sentences that best answer a question, each cited.

Every sentence of every passage was embedded at build time (``sentences.npy``),
so answering costs one retrieval plus dot products: a sentence scores by its
cosine to the question plus how much of the question's (idf-weighted) terms it
contains. Nothing in an answer is text that is not in the corpus; the only
generated words are the "no answer" message and the citation markers.

Whether the corpus answers at all rests on signals that do not depend on the
questions seen so far (weights and thresholds calibrated on the dev split:
research/answers/answers-calibration.md):

* a name the question asks about (proper noun, Hanzi, model number) that no
  briefing mentions makes it unanswerable, however close the nearest passage;
* confidence: the best sentence's cosine and question-term coverage, and how
  much of the question (idf-weighted) the answering passage holds;
* a question written mostly in Latin letters (English over the Korean corpus)
  is judged on the cosine, against its own threshold (its words cannot be
  expected in the passages), plus the share of its words whose Korean nouns
  (the e5 term bridge, retrieval/crosslingual.py) the answering passage holds and
  the first passage's margin over the next, with weights of its own, and is
  answered with the Korean sentences.

An answer stays within the best passage (with ``answer.passages`` above 1,
only a question asking for a list draws on several), and starts at the first
word of its sentences (no bullet glyphs).
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from briefsearch.answer.salience import CorpusMentions, salient_names
from briefsearch.config import Answering, Settings
from briefsearch.retrieval.crosslingual import is_crosslingual
from briefsearch.retrieval.searcher import Searcher
from briefsearch.structure.layouts import LEGAL
from briefsearch.text.bullets import bullet_prefix, drop_cell_glyphs
from briefsearch.types import Answer, AnswerCitation, Chunk, SearchFilters, SearchHit, SearchResult

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
# questions asking for several items: plural/enumerating words, "N대 산업", "다섯 가지", English plurals of "what are"
_LIST_QUESTION = re.compile(r"(목록|나열|모두|각각|어떤 것들|무엇무엇|들은|들이|들을|\d+\s*(대|개|가지)\b|\d+대|"
                            r"(두|세|네|다섯|여섯|일곱|여덟|아홉|열)\s*(가지|개)|\b(what|which) (are|were)\b|\blist\b)",
                            re.IGNORECASE)
# a caption or heading restates a topic without answering: 〈표 제목〉, 표 1. ..., [그림 2], 〔표 3-2〕 ...,
# 출처/자료 lines
_CAPTION = re.compile(r"^([〈<《\[〔【].*[〉>》\]〕】]\W*"
                      r"|[〈<《\[〔【]\s*(표|그림|Table|Figure)\s*[\d.\-–]+\s*[〉>》\]〕】].*"
                      r"|(표|그림|Table|Figure)\s*\d+[.:]?\s.*|(출처|자료)\s*[:：].*)$")
# no Hangul and not a table row: a source reference (the ☑ lists of Chinese headlines closing three briefings)
# or page furniture ("KOREA-CHINA SCIENCE &"); the corpus states its answers in Korean
_NOT_PROSE = re.compile(r"^[^가-힣|]*$")
# 법제처 「법령 입안·심사 기준」: an article opens with its number and title ("제4조의2(공시)"), a paragraph with
# ①②; they place the sentence, they are not what it says: the answer and its citation start after them
_ARTICLE = next(rule for rule in LEGAL.headings if rule.kind == "jo")
_PARAGRAPH = re.compile(r"[①-⑳][ \t]*")
# a sentence announcing what follows: "다음 각 호의 사항을 공시하여야 한다", "다음과 같이 개정한다", "다음 이유로"
# (the drafting formulas of statutes and bills; briefings write "다음과 같음"); its items are the next lines
_FORWARD = re.compile(r"다음\s*(?:각\s*호|과\s*같|의\s|사항|이유)")
# a sentence cannot end in a particle, a connective or an adnominal ending: one that does was cut at a line wrap
_UNFINISHED_TAGS = ("J", "EC", "ETM")
_ITEM = re.compile(r"(?:\d{1,2}|[가-하])\.\s")  # a numbered 호 or lettered 목 (1., 가.) opens an item
_MARGIN_CAP = 0.3  # a first passage this far ahead of the next is as clear as it gets


def _model_number(name: str) -> bool:
    """Digit-led names are model or serial numbers (910B, H20, S4000), not words or formulas (CO2)."""
    return sum(c.isdigit() for c in name) >= sum(c.isalpha() for c in name)


@dataclass(slots=True)
class _Candidate:
    chunk: Chunk
    index: int  # sentence index within the chunk
    text: str
    cosine: float
    coverage: float
    score: float
    skip: int = 0  # characters of leading bullet glyphs left out of ``text``
    through: int = -1  # the last sentence index ``text`` runs to (a sentence cut at a line wrap is joined)

    @property
    def last(self) -> int:
        return max(self.index, self.through)


def combine(f: dict, w: Answering) -> float:
    """The confidence of one question's signals (``Answerer.features``); the one formula the service and the
    calibration share. A cross-lingual question is judged on the cosine, its bridged coverage and the first
    passage's margin, with weights of its own (its own words are not expected in the Korean passages)."""
    if f["crosslingual"]:
        return f["best_cosine"] + w.bridge_coverage_weight * f["bridge_coverage"] + w.margin_weight * f["margin"]
    return f["best_cosine"] + w.lexical_weight * f["best_coverage"] + w.passage_weight * f["passage_coverage"]


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


def legal_prefix(sentence: str) -> int:
    """Length of the article heading ("제105조", "제4조의2(공시)") and paragraph marker (①) a statute sentence
    opens with, with the spaces after them (0 when none; a reference such as "제5조 제목 외의 부분" is kept)."""
    end = 0
    match = _ARTICLE.pattern.match(sentence)
    if match and not (_ARTICLE.reject_after and _ARTICLE.reject_after.match(sentence[match.end() :])):
        end = match.end() + len(sentence[match.end() :]) - len(sentence[match.end() :].lstrip())
    paragraph = _PARAGRAPH.match(sentence, end)
    return paragraph.end() if paragraph else end


class Answerer:
    """Picks answer sentences from retrieved passages and decides whether the corpus answers at all."""

    def __init__(self, searcher: Searcher) -> None:
        self.searcher = searcher
        chunks = searcher.index.chunks
        self.mentions = CorpusMentions(
            ("\n".join([c.title, c.section, c.text, *c.footnotes]) for c in chunks.values()), searcher.aliases)
        df: dict[str, int] = {}
        for chunk in chunks.values():
            for term in set(chunk.terms):
                df[term] = df.get(term, 0) + 1
        self.n_chunks = max(1, len(chunks))
        self.df = df

    @property
    def settings(self) -> Settings:
        """The searcher's settings, read per call as the searcher reads them (``settings.answer``)."""
        return self.searcher.settings

    def idf(self, term: str) -> float:
        # unseen terms weigh most: a question about something the corpus never mentions is not covered
        return math.log(1 + self.n_chunks / (self.df.get(term, 0) + 0.5))

    def ask(self, question: str, k: int = 5, mode: str | None = None, filters: SearchFilters | None = None,
            history: list[str] | None = None) -> Answer:
        started = time.perf_counter()
        query = resolve_followup(history or [], question, self.searcher) if history else question
        result = self.searcher.search(query, k, mode, filters)
        tuned = self.settings.answer
        candidates = self._candidates(result, result.hits[: tuned.passages])
        for hit in result.hits[tuned.passages :]:  # a top passage of captions or table cells only: the next one
            if candidates:
                break
            candidates = self._candidates(result, [hit])
        features = self.features(candidates, result)
        fused = self.searcher.second_vectors is not None
        threshold = tuned.crosslingual_cut(fused) if features["crosslingual"] else tuned.threshold
        answerable = bool(candidates) and not features["unknown_names"] and features["confidence"] >= threshold
        confidence = 0.0 if features["unknown_names"] else features["confidence"]
        citations: list[AnswerCitation] = []
        text = NO_ANSWER
        if answerable:
            chosen = self._choose(candidates, many=bool(_LIST_QUESTION.search(query)))
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
        tuned = self.settings.answer
        for hit in hits:
            chunk = hit.chunk
            for i, (a, b, *_) in enumerate(chunk.sentences):
                raw = chunk.text[a:b]
                lead = len(raw) - len(raw.lstrip())
                skip = bullet_prefix(raw[lead:])
                skip += legal_prefix(raw[lead + skip :])
                sentence = drop_cell_glyphs(raw[lead + skip :].strip())
                if (len(sentence) < _MIN_SENTENCE_CHARS or i >= len(chunk.sentence_rows) or _CAPTION.match(sentence)
                        or _NOT_PROSE.match(sentence)):
                    continue
                cosine = float(matrix[chunk.sentence_rows[i]] @ vector)
                terms = set(chunk.sentence_terms[i])
                coverage = sum(w for t, w in weights.items() if t in terms) / total
                # what the sentence adds beyond the question's own words: a restatement answers nothing
                novelty = len(terms - weights.keys()) / max(1, len(terms))
                score = cosine + tuned.lexical_weight * coverage + tuned.novelty_weight * novelty
                out.append(_Candidate(chunk, i, sentence, cosine, coverage, score, lead + skip, i))
        return out

    def passage_coverage(self, result: SearchResult, hits: list[SearchHit]) -> float:
        """The largest idf-weighted share of the question's terms that one answering passage holds."""
        weights = {t.term: self.idf(t.term) for t in result.terms}
        total = sum(weights.values())
        if not total:
            return 0.0
        return max((sum(w for t, w in weights.items() if t in self.searcher.passage_terms(h.chunk.chunk_id))
                    / total for h in hits), default=0.0)

    def bridge_coverage(self, result: SearchResult, chunk: Chunk) -> float:
        """The share of a cross-lingual question's bridged English words (each weighted by its best Korean noun's
        bridge weight times idf) with a Korean noun in the answering passage: the lexical evidence the cosine
        alone lacks, as the Korean path's passage coverage (0 when no word reaches the bridge's floor). The words
        the search mapped are reused; only a search that did not map them (dense mode, bridge off) maps them here."""
        held = self.searcher.passage_terms(chunk.chunk_id)
        bridged = result.bridged if result.bridged is not None else self.searcher.bridged_words(result.query)
        total = covered = 0.0
        for word in bridged:
            scored = {t: w * self.idf(t) for t, w in word.items()}
            if not scored:
                continue
            total += max(scored.values())
            covered += max((v for t, v in scored.items() if t in held), default=0.0)
        return covered / total if total else 0.0

    def features(self, candidates: list[_Candidate], result: SearchResult) -> dict:
        """Every signal the answerable decision reads, and the confidence combining them."""
        crosslingual = is_crosslingual(result.query, self.settings.crosslingual.latin_share)
        names = salient_names(self.searcher.korean, result.query)
        if crosslingual:  # English names are not expected verbatim in Korean text; model numbers (910B, H20) are
            names = [n for n in names if not n.isascii() or _model_number(n)]
        unknown = self.mentions.unknown(names)
        if not candidates:
            return {"confidence": 0.0, "best_cosine": 0.0, "best_coverage": 0.0, "passage_coverage": 0.0,
                    "margin": 0.0, "bridge_coverage": 0.0, "crosslingual": crosslingual, "unknown_names": unknown}
        best = max(candidates, key=lambda c: c.score)
        coverage = max(c.coverage for c in candidates)
        hits = result.hits
        margin = min(_MARGIN_CAP, hits[0].score - hits[1].score) if len(hits) > 1 else _MARGIN_CAP
        passage = self.passage_coverage(result, hits[: self.settings.answer.passages])
        signals = {"best_cosine": best.cosine, "best_coverage": coverage, "passage_coverage": passage,
                   "margin": margin,
                   "bridge_coverage": self.bridge_coverage(result, best.chunk) if crosslingual else 0.0,
                   "crosslingual": crosslingual}
        return {"confidence": combine(signals, self.settings.answer), **signals, "unknown_names": unknown}

    def _choose(self, candidates: list[_Candidate], many: bool = False) -> list[_Candidate]:
        """The best sentence, plus up to two close runners-up (from its own passage unless a list is asked for)."""
        ranked = sorted(candidates, key=lambda c: -c.score)
        window = self.settings.answer.window
        best = ranked[0]
        chosen = [best]
        seen = {best.text}
        for cand in ranked[1:]:
            if len(chosen) == 3 or cand.score < best.score - window:
                break
            if cand.text in seen or (not many and cand.chunk.chunk_id != best.chunk.chunk_id):
                continue
            chosen.append(cand)
            seen.add(cand.text)
        return self._with_items(candidates, self._joined(sorted(
            chosen, key=lambda c: (c.chunk.doc_id, c.chunk.sentences[c.index][2]))), many)

    def _with_items(self, candidates: list[_Candidate], chosen: list[_Candidate], many: bool) -> list[_Candidate]:
        """The answer with, after a lead-in sentence (one ending in ':', or announcing what follows: "다음 각 호의
        사항", "다음과 같이") and after the last one when the question asks for several items, the sentences
        following it in its passage, up to ``answer.continuation``: a briefing states a list as a lead-in and one bullet
        or table row per item, a statute as a paragraph and its numbered 호, so the best-scoring line alone shows
        only part of it."""
        continuation = self.settings.answer.continuation
        taken = {(c.chunk.chunk_id, i) for c in chosen for i in range(c.index, c.last + 1)}
        out: list[_Candidate] = []
        for n, cand in enumerate(chosen):
            out.append(cand)
            lead_in = cand.text.rstrip().endswith((":", "：")) or bool(_FORWARD.search(cand.text))
            if not continuation or not (lead_in or (many and n == len(chosen) - 1)):
                continue
            following = sorted((c for c in candidates if c.chunk.chunk_id == cand.chunk.chunk_id
                                and c.index > cand.last and (c.chunk.chunk_id, c.index) not in taken),
                               key=lambda c: c.index)[:continuation]
            items = self._joined(following)
            taken |= {(c.chunk.chunk_id, i) for c in items for i in range(c.index, c.last + 1)}
            out += items
        return out

    def _joined(self, chosen: list[_Candidate]) -> list[_Candidate]:
        """Each sentence with the following ones of its passage it runs on into, and none of those twice.

        A PDF extraction splits a statute's paragraph at blank-line wraps ("재학 중인 자에" / "대해서는 …"), so
        a sentence ending in a particle, a connective or an adnominal ending, or in a word the wrap cut (Kiwi's
        spacing joins the two sides), is not finished: up to ``answer.join_wrapped`` following sentences join it.
        """
        join_wrapped = self.settings.answer.join_wrapped
        out: list[_Candidate] = []
        for cand in chosen:
            if any(c.chunk.chunk_id == cand.chunk.chunk_id and c.index <= cand.index <= c.last for c in out):
                continue
            text, through, sentences = cand.text, cand.index, cand.chunk.sentences
            while through + 1 < len(sentences) and through - cand.index < join_wrapped:
                a, b, *_ = sentences[through + 1]
                following = cand.chunk.text[a:b].strip()
                joint = self._run_on(text, following) if following else None
                if joint is None:
                    break
                text, through = text + joint + following, through + 1
            out.append(_Candidate(cand.chunk, cand.index, text, cand.cosine, cand.coverage, cand.score, cand.skip,
                                  through))
        return out

    def _run_on(self, text: str, following: str) -> str | None:
        """How ``text`` joins ``following`` when it stops where no sentence ends (on a particle or a non-final
        ending: a space where Kiwi's spacing puts one; inside a word: nothing), or None when it ends there.
        Kiwi's spacing is asked once per pair: its answer both finds a cut word and joins the two sides."""
        if bullet_prefix(following) or legal_prefix(following) or _ITEM.match(following) or not following[0].isalnum():
            return None  # the next line opens an item of its own (a bullet, ①, "1.", "가.")
        korean = self.searcher.analyzer.korean
        tokens = korean.tokenize(text.split()[-1]) if text.split() else []
        unfinished = bool(tokens) and tokens[-1].tag.startswith(_UNFINISHED_TAGS)
        if not unfinished and (not tokens or tokens[-1].tag in ("SF", "EF") or not text[-1].isalnum()):
            return None  # a final ending or a closing mark ends a sentence
        space = korean.needs_space(text.split()[-1], following.split()[0])
        if unfinished:
            return " " if space else ""
        return None if space else ""  # inside a word only when the two sides join without a space

    def _cite(self, n: int, cand: _Candidate) -> AnswerCitation:
        chunk = cand.chunk
        _, _, src_start, _, line_start, _ = chunk.sentences[cand.index]
        _, _, _, src_end, _, line_end = chunk.sentences[cand.last]
        src_start += cand.skip  # the glyphs and spaces left out of the text are literal in the file
        doc = self.searcher.index.documents[chunk.doc_id]
        return AnswerCitation(
            n=n, chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=chunk.title, section=chunk.section,
            page=chunk.page, source=doc.source, char_start=src_start, char_end=src_end,
            line_start=line_start, line_end=line_end, text=cand.text,
        )
