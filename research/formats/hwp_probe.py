"""Probe: what the structure stage makes of real .hwp documents (a report, never a gate).

Every ``.hwp`` under the given folders goes through the same steps as an upload (``formats.extract``,
``structure.parse_document``, the ``Chunker`` with the service's settings); per document it prints the
size, line and block counts, letter-spaced lines (form labels like ``단 체 명``), one-character lines,
headings and passages under 40 characters, then the first passages with their section path.

    python -m briefsearch.eval.hwp_probe DIR [DIR ...] [--passages 8]

Used on the npm package node-hwp's test files (eval/reports/hwp-probe.md).
"""

from __future__ import annotations

import argparse
import re
import tempfile
from collections import Counter
from pathlib import Path

from briefsearch.index.chunk import Chunker
from briefsearch.index.embed import Encoder
from briefsearch.index.errors import CorpusError
from briefsearch.index.formats import extract
from briefsearch.index.ingest import DocumentMeta, read_source
from briefsearch.index.korean import KoreanText
from briefsearch.index.settings import Settings
from briefsearch.index.structure import parse_document

_LETTER_SPACED = re.compile(r"(?:^|\s)[가-힣](?: +[가-힣]){2,}(?:\s|$)")  # three or more lone syllables


def probe(paths: list[Path], passages: int) -> None:
    settings = Settings()
    korean = KoreanText()
    encoder = Encoder(settings, progress=False)
    chunker = Chunker(encoder.count_tokens, korean, settings.max_chunk_tokens, settings.overlap_sentences,
                      settings.passage_prefix)
    with tempfile.TemporaryDirectory() as scratch:
        for path in paths:
            try:
                text = extract(path.read_bytes(), ".hwp", path.name).text
            except CorpusError as exc:
                print(f"== {path}: refused: {exc}")
                continue
            rendition = Path(scratch) / f"{path.stem}.txt"
            rendition.write_text(text, encoding="utf-8")
            source = read_source(rendition)
            doc = parse_document(source, joiner=korean.needs_space)
            chunks = chunker.chunk(DocumentMeta(path.stem, rendition.name, path.stem), source, doc)
            lines = [line for line in text.split("\n") if line.strip()]
            kinds = dict(Counter(block.kind for block in doc.blocks))
            print(f"== {path}: {len(text)} chars, {len(lines)} lines "
                  f"({sum(len(line.strip()) == 1 for line in lines)} of one character, "
                  f"{sum(bool(_LETTER_SPACED.search(line)) for line in lines)} letter-spaced), blocks {kinds}, "
                  f"{len(chunks)} passages ({sum(len(c.text) < 40 for c in chunks)} under 40 characters)")
            headings = [block.text.text for block in doc.blocks if block.kind == "heading"]
            if headings:
                print(f"   headings: {headings[:10]}")
            for chunk in chunks[:passages]:
                print(f"   [{chunk.section}] {chunk.text[:160]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dirs", nargs="+", type=Path)
    parser.add_argument("--passages", type=int, default=8, help="passages shown per document")
    args = parser.parse_args()
    probe(sorted(p for d in args.dirs for p in d.rglob("*.hwp")), args.passages)


if __name__ == "__main__":
    main()
