"""Typography of generated text cells.

Lesson sources wrap Japanese prose at ~100 columns for editing, but Markdown renders a line break
inside a paragraph as a space, and Japanese puts no spaces between words: a stray gap would
appear in mid-sentence. So a line break between two Japanese characters is removed (outside code
fences and display math), also where emphasis marks (``*``, ``**``) stand next to the break and where
the next line is the indented continuation of a list item. After Japanese punctuation (。、：) the
break goes whatever the next line starts with (code, a number, Latin text, math): 「…。`x.grad` は」
needs no space either. Korean separates words with spaces, so a
break there is right as is.
"""
from __future__ import annotations

import re

_JA = r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]"
# A line that ends in a Japanese character, perhaps closing an emphasis: 「…する」, 「…**勾配**」.
_ENDS_JA = re.compile(_JA + r"\**$")
# A continuation that starts with one, perhaps after indentation or an opening emphasis mark. A list
# bullet ("* 項目", "- 項目") is not matched: its mark is followed by a space.
_STARTS_JA = re.compile(r"^[ \t]*\**" + _JA)
# Punctuation after which Japanese never wants a space, whatever follows.
_ENDS_JA_PUNCT = re.compile(r"[、。，．：；！？）」』】]\**$")
_BLOCK_START = re.compile(r"^[ \t]*(#|>|\||[-+*][ \t]|\d+[.)][ \t])")


def unwrap_japanese(text: str) -> str:
    out: list[str] = []
    fenced = False
    for line in text.split("\n"):
        marker = line.lstrip()
        toggles = marker.startswith("```") or marker.startswith("~~~") or marker.strip() == "$$"
        continues = _STARTS_JA.search(line) or (line.strip() and _ENDS_JA_PUNCT.search(out[-1]) if out else False)
        if (not fenced and not toggles and out and _ENDS_JA.search(out[-1]) and continues
                and not _BLOCK_START.match(line) and not out[-1].lstrip().startswith("#")):
            out[-1] += line.lstrip()
        else:
            out.append(line)
        if toggles:
            fenced = not fenced
    return "\n".join(out)
