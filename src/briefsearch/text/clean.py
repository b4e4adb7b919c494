"""Inline cleaning of one line of extracted text, keeping the source mapping.

Each rule is general (Markdown, HTML, LaTeX, URLs), never tied to one file.
"""

from __future__ import annotations

import html
import re

from briefsearch.text.mapped import MappedText

_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~<>$])")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
# the elements of the HTML Living Standard (and the obsolete ones old exports still carry): only these are tags.
# Korean prose puts titles in angle brackets (걸그룹 <AOA>, 잡지 <Nature>), and those are words, not markup
_HTML_ELEMENTS = (
    "a abbr address area article aside audio b base basefont bdi bdo big blockquote body br button canvas caption "
    "center cite code col colgroup data datalist dd del details dfn dialog dir div dl dt em embed fieldset "
    "figcaption figure font footer form frame frameset h1 h2 h3 h4 h5 h6 head header hgroup hr html i iframe img "
    "input ins kbd label legend li link main map mark menu meta meter nav nobr noscript object ol optgroup option "
    "output p param picture pre progress q rp rt ruby s samp script search section select slot small source span "
    "strike strong style sub summary sup table tbody td template textarea tfoot th thead time title tr track tt u "
    "ul var video wbr"
).split()


def _tags(names: list[str], *also: str) -> re.Pattern[str]:
    """An opening, closing or empty tag of one of ``names`` (or matching a pattern in ``also``), written in lower or
    upper case as markup is (<br>, <BR>, <br/>, <td colspan=2>): a capitalized word (<Time>, <Science>) is a title."""
    return re.compile(r"</?(?:" + "|".join([*names, *(n.upper() for n in names), *also]) + r")(?:\s[^>]*)?/?>")


# a namespaced tag (<o:p>, <w:t> from office exports) is markup too: no title is written "word:word"
_HTML_TAG = _tags(_HTML_ELEMENTS, r"[a-zA-Z][a-zA-Z0-9]*:[a-zA-Z][\w.-]*")
_HTML_BREAK_TAG = _tags(["li", "br", "p", "ul", "ol", "tr", "td", "th", "div"])
_HTML_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,6});")
_LATEX = re.compile(r"\$([^$\n]{1,120})\$")
_LATEX_TEXT = re.compile(r"\\(?:text|mathrm|mathbf|mathit)\{([^{}]*)\}")
_LATEX_CMD = re.compile(r"\\([a-zA-Z]+)")
LATEX_SYMBOLS = {"mu": "μ", "times": "×", "sim": "~", "cdot": "·", "circ": "°", "pm": "±", "le": "≤", "ge": "≥",
                  "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "Delta": "Δ", "%": "%"}
_MD_LINK = re.compile(r"\[([^\]\n]*)\]\((?:https?://|www\.)[^)\s]*\)")
_ANGLE_URL = re.compile(r"<(?:https?://|www\.)[^>\s]*>")
_BARE_URL = re.compile(r"(?:https?://|www\.)\S+")
RULE_RUN = re.compile(r"[-─―]{4,}")  # a drawn rule, or "unchanged" in a 신·구조문대비표: no words
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
        line = line.sub(RULE_RUN, lambda m: " ")
    return line
