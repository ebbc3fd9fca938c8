"""The result of a check: a table (HTML in Jupyter, text elsewhere) and the diagnosis."""
from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

from ._safe import np  # a snapshot of NumPy's namespace, immune to later monkeypatching
from .i18n import t

MAX_ROWS = 8  # per input; the rest is summarised (the worst rows are always shown)


def _html_text(text: str) -> str:
    """Escape, then show `code` spans as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _width(text: str) -> int:
    """Columns a string takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def fmt(value) -> str:
    if value is None:
        return "—"
    value = float(value)
    if np.isnan(value) or np.isinf(value):
        return str(value)
    return f"{value:.6g}"


def fmt_apart(a, b) -> tuple[str, str]:
    """``a`` and ``b`` with as many digits as it takes to show that they differ (6 at least, 17 at
    most): "-0.355521, but it should be -0.355521" would contradict itself."""
    for digits in (6, 9, 12, 17):
        shown = tuple(f"{float(v):.{digits}g}" if v is not None and np.isfinite(float(v)) else fmt(v) for v in (a, b))
        if shown[0] != shown[1]:
            return shown
    return shown


@dataclass
class Block:
    """The elementwise comparison for one input."""

    name: str
    points: np.ndarray | None  # None for a value check (no point)
    got: np.ndarray | None
    analytic: np.ndarray | None
    fd: np.ndarray | None
    ok: np.ndarray | None = None
    abs_err: np.ndarray | None = None
    rel_err: np.ndarray | None = None
    decided_by_rtol: np.ndarray | None = None


@dataclass
class Report:
    """What a check found. ``passed`` is the verdict; ``codes`` name the diagnoses
    (language-independent, for tests); ``messages`` are the localized diagnosis."""

    kind: str
    label: str
    passed: bool
    blocks: list[Block] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)
    reveal: bool = True
    got_header: str = "col_grad"  # what backward() left in .grad, which need not be autograd's answer
    ref_header: str = "col_analytic"
    handed_in: bool = False  # the values under test came with got=, not from autograd (.grad)

    def __bool__(self) -> bool:
        return self.passed

    # -- rendering ---------------------------------------------------------------------
    def _title(self) -> str:
        key = {"second": "report_title_second", "formula": "report_title_formula",
               "value": "report_title_value"}.get(self.kind, "report_title")
        return f"{t(key)}{t('title_sep')}{self.label}" if self.label else t(key)  # a full-width colon in Japanese

    def _summary(self) -> str:
        if not self.passed:
            return t("summary_fail")
        n = sum(b.got.size for b in self.blocks if b.got is not None)
        if self.kind == "value":
            return t("summary_pass_value", n=n)
        with_analytic = any(b.analytic is not None for b in self.blocks)
        yours = "_yours" if self.handed_in and self.kind != "formula" else ""  # not autograd's values
        if with_analytic and self.notes:  # passed on the values vs analytic; FD disagreed (a kink)
            return t("summary_pass_no_fd" + yours, n=n)
        if not with_analytic:
            return t("summary_pass_two", n=n)
        if yours:
            return t("summary_pass_yours", n=n)
        return t("summary_pass" if self.kind == "grad" else "summary_pass_same", n=n)  # second derivatives, H·v, formulas

    def _kept(self) -> list[int]:
        """The columns shown: "at" and "finite diff." only where some block has them (a value check
        has neither, and a column of dashes says nothing)."""
        shown = [b for b in self.blocks if b.got is not None and b.ok is not None]
        drop = {1} if all(b.points is None for b in shown) else set()
        drop |= {4} if all(b.fd is None for b in shown) else set()
        return [c for c in range(9) if c not in drop]

    def _headers(self) -> list[str]:
        keys = ("col_input", "col_point", self.got_header, self.ref_header,
                "col_fd", "col_abs_err", "col_rel_err", "col_bound", "col_verdict")
        return [t(keys[c]) for c in self._kept()]

    def _rows(self) -> list[list[str]]:
        kept = self._kept()
        return [[row[c] for c in kept] for row in self._all_rows()]

    def _all_rows(self) -> list[list[str]]:
        rows = []
        hidden = t("hidden_value")
        for b in self.blocks:
            if b.got is None or b.ok is None:
                continue
            size = b.got.size
            order = np.arange(size)
            if size > MAX_ROWS:  # wrong elements first, the worst on top, so none is hidden
                if b.ok.all():
                    order = order[:MAX_ROWS]
                else:
                    badness = np.where(b.ok.reshape(-1), -1.0, b.abs_err.reshape(-1))
                    order = np.argsort(-badness, kind="stable")[:MAX_ROWS]
            for i in order:
                idx = np.unravel_index(i, b.got.shape) if b.got.ndim else ()
                name = b.name + (f"[{', '.join(map(str, idx))}]" if idx else "")
                rows.append([
                    name,
                    fmt(b.points.reshape(-1)[i]) if b.points is not None else "—",
                    fmt(b.got.reshape(-1)[i]),
                    (fmt(b.analytic.reshape(-1)[i]) if self.reveal else hidden) if b.analytic is not None else "—",
                    (fmt(b.fd.reshape(-1)[i]) if self.reveal else hidden) if b.fd is not None else "—",
                    f"{b.abs_err.reshape(-1)[i]:.1e}",
                    _rel(b.rel_err.reshape(-1)[i]),
                    t("bound_rtol") if b.decided_by_rtol.reshape(-1)[i] else t("bound_atol"),
                    t("verdict_ok") if b.ok.reshape(-1)[i] else t("verdict_bad"),
                ])
            if size > MAX_ROWS:
                rows.append([t("rows_omitted", n=size - MAX_ROWS)] + [""] * 8)
        return rows

    def __str__(self) -> str:
        lines = [self._title(), ""]
        rows = self._rows()
        if rows:
            table = [self._headers()] + rows
            # the "… n more rows" line (empty beyond its first cell) must not widen the first column
            widths = [max(_width(r[c]) for r in table if r[1] or c) for c in range(len(table[0]))]
            for j, row in enumerate(table):
                lines.append("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
                if j == 0:
                    lines.append("  ".join("-" * w for w in widths))
            lines.append("")
        lines.extend(self.footer)
        lines.append(("✔ " if self.passed else "✘ ") + self._summary())
        lines.extend(self.messages)
        lines.extend(self.notes)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        e = html.escape
        colour = "#1a7f37" if self.passed else "#b42318"
        parts = [f'<div class="gradcoach-report {"gradcoach-pass" if self.passed else "gradcoach-fail"}" '
                 f'style="border-left:4px solid {colour};padding:4px 10px;margin:4px 0">',
                 f"<strong>{e(self._title())}</strong>"]
        rows = self._rows()
        if rows:
            parts.append('<table style="border-collapse:collapse;font-size:90%;margin:4px 0">'
                         "<thead><tr>" + "".join(f'<th style="padding:2px 8px;text-align:right">{e(h)}</th>'
                                                for h in self._headers()) + "</tr></thead><tbody>")
            for row in rows:
                bad = row[-1] == t("verdict_bad")
                style = ' style="background:#fde8e8"' if bad else ""
                parts.append(f"<tr{style}>" + "".join(
                    f'<td style="padding:2px 8px;text-align:right;font-family:monospace">{e(c)}</td>'
                    for c in row) + "</tr>")
            parts.append("</tbody></table>")
        for line in self.footer:
            parts.append(f'<div style="font-size:85%;color:#555">{e(line)}</div>')
        parts.append(f'<div style="color:{colour};font-weight:bold">{"✔" if self.passed else "✘"} '
                     f"{e(self._summary())}</div>")
        for m in self.messages:
            parts.append(f'<div class="gradcoach-diagnosis" style="margin:4px 0">{_html_text(m)}</div>')
        for n in self.notes:
            parts.append(f'<div class="gradcoach-note" style="margin:4px 0;color:#555">{_html_text(n)}</div>')
        parts.append("</div>")
        return "".join(parts)


class Passed:
    """What a test cell shows last when all its visible tests passed (``gc.passed()``): without it a
    passing cell would show nothing, since its checks raise only on failure."""

    def __str__(self) -> str:
        return "✔ " + t("tests_passed")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return ('<div class="gradcoach-passed" style="border-left:4px solid #1a7f37;padding:4px 10px;margin:4px 0;'
                f'color:#1a7f37;font-weight:bold">{html.escape(str(self))}</div>')


def fail(report: Report, code: str, **values) -> Report:
    """Record the diagnosis ``code`` (once) with its message in the notebook's language."""
    report.passed = False
    if code not in report.codes:
        report.codes.append(code)
        report.messages.append(t(code, **values))
    return report


def _rel(value: float) -> str:
    """A relative error, or "—" where the reference is 0 and there is none."""
    return f"{value:.1e}" if np.isfinite(value) else "—"
