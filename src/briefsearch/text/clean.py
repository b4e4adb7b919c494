"""Inline cleaning of one line of extracted text, keeping the source mapping.

Each rule is general (Markdown, HTML, LaTeX, URLs), never tied to one file.
"""

from __future__ import annotations

import html
import re

from briefsearch.text.mapped import MappedText

_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>$])")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_HTML_BREAK_TAG = re.compile(r"</?(?:li|br|p|ul|ol|tr|td|th|div)\b[^>]*>", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^>]*>")
_HTML_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,6});")
_LATEX = re.compile(r"\$([^$\n]{1,120})\$")
_LATEX_TEXT = re.compile(r"\\(?:text|mathrm|mathbf|mathit)\{([^{}]*)\}")
_LATEX_CMD = re.compile(r"\\([a-zA-Z]+)")
LATEX_SYMBOLS = {"mu": "μ", "times": "×", "sim": "~", "cdot": "·", "circ": "°", "pm": "±", "le": "≤", "ge": "≥",
                  "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "%": "%"}
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:https?://|www\.)[^)\s]*\)")
_ANGLE_URL = re.compile(r"<(?:https?://|www\.)[^>\s]*>")
_BARE_URL = re.compile(r"(?:https?://|www\.)\S+")
_RULE_RUN = re.compile(r"[-─―]{4,}")  # a drawn rule, or "unchanged" in a 신·구조문대비표: no words
_URL_ONLY = re.compile(r"^\s*(?:[-*•]\s*)?(?:<?(?:https?://|www\.)\S+>?\s*)+$")


def is_url_only(line: str) -> bool:
    """A line that carries nothing but links (reference lists)."""
    return bool(_URL_ONLY.match(line)) or (bool(_MD_LINK.fullmatch(line.strip())) and _looks_like_url(line))


def _looks_like_url(text: str) -> bool:
    return bool(re.search(r"https?://|www\.", text.split("](")[0]))


def _latex_body(body: str) -> str:
    # symbols first (\mu -> μ), then wrappers (\text{g} -> g): "\mu\text{g}" must become "μg", not "\mug"
    body = _LATEX_CMD.sub(lambda m: LATEX_SYMBOLS.get(m.group(1), m.group()), body)
    body = _LATEX_TEXT.sub(r"\1", body)
    body = _LATEX_CMD.sub("", body)
    return body.replace("{", "").replace("}", "").replace("^", "").replace("\\", "")


def clean_inline(line: MappedText) -> MappedText:
    """Turn Markdown/HTML/LaTeX markup into plain text; drop links' URLs and drawn rules (dash runs)."""
    if "\\" in line.text or "$" in line.text:
        line = line.sub(_LATEX, lambda m: _latex_body(m.group(1)))
        for _ in range(2):  # double-escaped text (``\\_``) appears in some exports
            line = line.sub(_MD_ESCAPE, lambda m: [1])
    if "*" in line.text or "__" in line.text:
        line = line.sub(_BOLD, lambda m: [2])
    if "<" in line.text:
        line = line.sub(_ANGLE_URL, lambda m: "")
        line = line.sub(_HTML_BREAK_TAG, lambda m: " ")
        line = line.sub(_HTML_TAG, lambda m: "")
    if "&" in line.text:
        line = line.sub(_HTML_ENTITY, lambda m: html.unescape(m.group()))
    if "](" in line.text:
        line = line.sub(_MD_LINK, lambda m: "" if _looks_like_url(m.group(1)) else [1])
    if "http" in line.text or "www." in line.text:
        line = line.sub(_BARE_URL, lambda m: "")
    if "----" in line.text or "──" in line.text or "――" in line.text:
        line = line.sub(_RULE_RUN, lambda m: " ")
    return line
