"""Leading bullet glyphs of briefing sentences (-, ㅇ, ○, □, m, ❍, ■, •, ...), kept out of answer text.

Korean government briefings (HWP exports) mark items with glyphs; "m" and "ㅇ"
stand for bullets that lost their symbol font. An answer sentence starts at
its first word, and its citation starts there too.
"""

from __future__ import annotations

import re

_LEADING = re.compile(r"^(?:(?:[-*•·∙‣◦▪▫■□▶►▷○●◎◆◇❍❏❑☑✓✔※|]|[mㅇ](?=\s))\s*)+")


def bullet_prefix(sentence: str) -> int:
    """Length of the run of bullet glyphs and spaces a sentence starts with (0 when none)."""
    match = _LEADING.match(sentence)
    return match.end() if match else 0
