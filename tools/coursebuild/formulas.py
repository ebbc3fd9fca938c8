"""Display formulas ``$$ … $$`` in lesson markdown and the ``<!-- check: label -->`` that must follow each."""
from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.S | re.M)
_DISPLAY = re.compile(r"(?<!\\)\$\$(.*?)(?<!\\)\$\$", re.S)
_CHECK = re.compile(r"\s*<!--\s*check:\s*([A-Za-z0-9_.:-]+)\s*-->")
LABEL_PATTERN = "letters, digits and _ . : -"


@dataclass(frozen=True)
class Formula:
    tex: str
    label: str | None  # None: no check comment right after it


def display_formulas(markdown: str) -> list[Formula]:
    """Every ``$$ … $$`` outside fenced code blocks, with the label of the check comment after it.

    Raises ValueError for a ``$$`` that is never closed.
    """
    text = _FENCE.sub("", markdown)
    found = []
    pos = 0
    for match in _DISPLAY.finditer(text):
        after = _CHECK.match(text, match.end())
        found.append(Formula(match.group(1).strip(), after.group(1) if after else None))
        pos = match.end()
    if "$$" in text[pos:].replace(r"\$$", ""):
        raise ValueError("a `$$` display formula is opened but never closed")
    return found


def formula_labels(markdown: str) -> list[str]:
    """The check labels of the display formulas in ``markdown`` (formulas without one are skipped)."""
    return [f.label for f in display_formulas(markdown) if f.label]
