"""Pictures for the lessons: tangent lines, the finite-difference error curve, a Jacobian heatmap.

Labels follow the notebook's language (``gc.set_language``). Japanese and Korean need a CJK font,
which matplotlib does not ship and Colab does not have: :func:`use_cjk_font` finds an installed
one (Noto Sans CJK, IPAex, Nanum, …, also one installed after matplotlib built its font list)
and adds it as a fallback after matplotlib's own font, so Latin text keeps its look. Without
such a font the labels are drawn in English (with a one-line note saying how to get the
language back), so no figure ever shows empty boxes.

matplotlib is imported only when a function here is called: gradcoach itself needs torch and
numpy only.

Each plot function draws on ``ax`` (or a new figure) and returns the Axes; end the line with
``;`` in a notebook to hide the Axes' repr. Do not mix ``$…$`` mathtext with CJK in one label:
mathtext has no font fallback.
"""
from __future__ import annotations

import math
import os

import torch

from ._safe import np
from .i18n import LANGUAGES, catalogue, language

# Families tried first, per language (the first installed wins); any other installed font whose
# character map covers the labels is the last resort.
CJK_FAMILIES = {
    "ja": ("Noto Sans CJK JP", "Noto Sans JP", "Source Han Sans JP", "Source Han Sans", "IPAexGothic",
           "IPAGothic", "IPAPGothic", "TakaoGothic", "VL Gothic", "Hiragino Sans", "Hiragino Kaku Gothic ProN",
           "Yu Gothic", "Meiryo", "MS Gothic", "Noto Sans CJK KR", "Noto Sans CJK SC", "Noto Sans CJK TC"),
    "ko": ("Noto Sans CJK KR", "Noto Sans KR", "Source Han Sans KR", "NanumGothic", "NanumBarunGothic",
           "Malgun Gothic", "Apple SD Gothic Neo", "AppleGothic", "UnDotum", "Baekmuk Gulim",
           "Noto Sans CJK JP", "Noto Sans CJK SC", "Noto Sans CJK TC"),
}


def _messages(lang: str) -> dict[str, str]:
    """This module's labels (catalogue keys ``plot_*``) in one language."""
    return {k[5:]: v for k, v in catalogue(lang).items() if k.startswith("plot_")}


_chosen: dict[str, str | None] = {}
_hinted: set[str] = set()


def _charmap(entry) -> set[int]:
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(entry.fname, face_index=getattr(entry, "index", 0))
    except TypeError:  # matplotlib < 3.10 has no face_index; face 0 of a CJK collection suffices
        font = FT2Font(entry.fname)
    return set(font.get_charmap())


def _label_chars(lang: str) -> set[int]:
    chars = set("".join(_messages(lang).values())) - set("".join(_messages("en").values()))
    return {ord(c) for c in chars if not c.isspace()}


def _draws_glyphs(entry, bundled: str) -> bool:
    """False for fonts that cover every code point with placeholder boxes: matplotlib's bundled
    "Last Resort" (its mpl-data folder, ``bundled``, holds no CJK font at all) and any other last-resort font."""
    return not (os.path.realpath(entry.fname).startswith(bundled) or entry.name.lower().startswith("last resort"))


def _find_family(lang: str) -> str | None:
    import matplotlib as mpl
    from matplotlib import font_manager

    needed = _label_chars(lang)
    bundled = os.path.realpath(mpl.get_data_path()) + os.sep
    entries = {}
    for entry in font_manager.fontManager.ttflist:
        if _draws_glyphs(entry, bundled):
            entries.setdefault(entry.name, entry)
    ordered = [entries[name] for name in CJK_FAMILIES[lang] if name in entries]
    ordered += [e for name, e in entries.items() if name not in CJK_FAMILIES[lang]]
    for entry in ordered:
        try:
            if needed <= _charmap(entry):
                return entry.name
        except (OSError, RuntimeError, ValueError):  # an unreadable font file: try the next one
            continue
    return None


def _add_new_system_fonts() -> None:
    """Register fonts installed after matplotlib cached its font list (e.g. by apt-get in Colab)."""
    from matplotlib import font_manager

    known = {entry.fname for entry in font_manager.fontManager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue


def use_cjk_font(lang: str | None = None) -> str | None:
    """Make matplotlib able to draw ``lang``'s labels (default: the notebook's language).

    Returns the CJK font family now used as matplotlib's fallback, or None when none is
    installed (then the plots here label in English). English needs nothing and returns None.
    Safe to call repeatedly; the search runs once per language.
    """
    import matplotlib as mpl

    lang = lang or language()
    if lang not in LANGUAGES:
        from .i18n import _normalise
        lang = _normalise(lang)  # 'ja_JP.UTF-8' → 'ja'; a language we do not have: a usage error
    if lang == "en":
        return None
    if _chosen.get(lang) is None:
        family = _find_family(lang)
        if family is None:
            _add_new_system_fonts()
            family = _find_family(lang)
        _chosen[lang] = family
    family = _chosen[lang]
    if family is not None:
        current = [f for f in mpl.rcParams["font.family"] if f != family]
        # A list of families makes matplotlib fall back glyph by glyph (matplotlib ≥ 3.6).
        mpl.rcParams["font.family"] = current + [family]
    return family


def _text(lang: str | None) -> dict[str, str]:
    lang = lang or language()
    if lang != "en" and use_cjk_font(lang) is None:
        if lang not in _hinted:
            _hinted.add(lang)
            print(_messages(lang)["font_hint"])
        lang = "en"
    return _messages(lang)


def _axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _as_f64(f):
    """``f`` evaluated on a float64 tensor, as a float (or a float array for a batch)."""
    def g(x):
        with torch.no_grad():
            return f(torch.as_tensor(x, dtype=torch.float64))
    return g


def _slope(f, x0: float) -> float:
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(f(x), x)
    return float(grad)


def tangent(f, x0, *, xlim=None, lang=None, ax=None):
    """Plot ``f`` and its tangent line at ``x0`` (a number or several), slope from autograd.

    ``f`` maps a tensor to a tensor elementwise, like the functions in the lessons.
    """
    text = _text(lang)
    points = [float(p) for p in (x0 if isinstance(x0, (list, tuple)) else [x0])]
    lo, hi = xlim if xlim is not None else (min(points) - 2.0, max(points) + 2.0)
    ax = _axes(ax, (6.4, 4.2))
    xs = np.linspace(lo, hi, 400)
    ys = _as_f64(f)(xs).numpy()
    ax.plot(xs, ys, color="black", lw=2, label="f(x)")
    span = (hi - lo) / 5
    for p in points:
        y0, slope = float(_as_f64(f)(p)), _slope(f, p)
        seg = np.linspace(p - span, p + span, 2)
        ax.plot(seg, y0 + slope * (seg - p), lw=2, label=text["tangent_line"].format(x0=p, slope=slope))
        ax.plot([p], [y0], "o", color="black", ms=6)
    ax.plot([], [], "o", color="black", label=text["point"])
    finite = ys[np.isfinite(ys)]
    if finite.size:
        pad = 0.1 * (finite.max() - finite.min() or 1.0)
        ax.set_ylim(finite.min() - pad, finite.max() + pad)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    ax.set_title(text["tangent_title"])
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return ax


def fd_error(f, df, x0, *, lang=None, ax=None):
    """Log-log plot of |finite difference − analytic derivative| against the step h at ``x0``.

    Shows the V shape: rounding error grows as h shrinks (∝ ε/h), truncation error as h grows
    (∝ h² for the central difference, ∝ h for the forward one); float32 bottoms out far higher.
    ``df`` is the analytic derivative (a callable, or its value at ``x0``).
    """
    from .finite_diff import STEP1

    text = _text(lang)
    x0 = float(x0)
    exact = float(df(torch.tensor(x0, dtype=torch.float64))) if callable(df) else float(df)
    hs = np.logspace(-15, 0, 121)

    def quotient(dtype, central):
        with torch.no_grad():
            x = torch.tensor(x0, dtype=dtype)
            h = torch.as_tensor(hs, dtype=dtype)
            up = f(x + h)
            if central:
                q = (up - f(x - h)) / (2 * h)
            else:
                q = (up - f(x)) / h
        err = np.abs(q.to(torch.float64).numpy() - exact)
        return np.where(err > 0, err, np.nan)  # log axes cannot show an exact 0

    ax = _axes(ax, (6.4, 4.4))
    ax.loglog(hs, quotient(torch.float64, True), lw=2, label=text["fd_central64"])
    ax.loglog(hs, quotient(torch.float64, False), lw=1.5, ls="--", label=text["fd_forward64"])
    ax.loglog(hs, quotient(torch.float32, True), lw=1.5, ls=":", label=text["fd_central32"])
    step = STEP1 * max(1.0, abs(x0))
    ax.axvline(step, color="grey", lw=1)
    ax.annotate(text["fd_step"], (step, 0.02), xycoords=("data", "axes fraction"), rotation=90,
                ha="right", va="bottom", fontsize="small", color="grey")
    ax.text(0.03, 0.97, "← " + text["fd_rounding"], transform=ax.transAxes, va="top", fontsize="small")
    ax.text(0.97, 0.97, text["fd_truncation"] + " →", transform=ax.transAxes, va="top", ha="right",
            fontsize="small")
    ax.set_xlabel(text["fd_x"])
    ax.set_ylabel(text["fd_y"])
    ax.set_title(text["fd_title"].format(x0=x0))
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", loc="lower right")
    return ax


def jacobian(J, x=None, *, annotate=None, lang=None, ax=None):
    """Heatmap of a Jacobian: ``J`` a matrix, or a function whose Jacobian at ``x`` is drawn.

    Rows are outputs yᵢ, columns inputs xⱼ; blue is negative, red positive, white zero. Values are
    written in the cells when there are at most 64 (``annotate`` forces it either way).
    """
    text = _text(lang)
    if callable(J):
        x = torch.as_tensor(x, dtype=torch.float64)
        out_numel = J(x).numel()
        J = torch.autograd.functional.jacobian(J, x).reshape(out_numel, x.numel())
    mat = torch.as_tensor(J).detach().to(torch.float64).cpu().numpy()
    mat = mat.reshape(mat.shape[0], -1) if mat.ndim > 1 else mat.reshape(1, -1)
    rows, cols = mat.shape
    ax = _axes(ax, (1.2 + 0.55 * max(cols, 4), 1.0 + 0.5 * max(rows, 4)))
    limit = float(np.nanmax(np.abs(mat))) if mat.size else 1.0
    limit = limit if limit > 0 and math.isfinite(limit) else 1.0
    image = ax.imshow(mat, cmap="RdBu_r", vmin=-limit, vmax=limit)
    ax.figure.colorbar(image, ax=ax, shrink=0.8)
    if annotate if annotate is not None else mat.size <= 64:
        for (i, j), value in np.ndenumerate(mat):
            ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize="small",
                    color="white" if abs(value) > 0.6 * limit else "black")
    if cols <= 20:
        ax.set_xticks(range(cols))
    if rows <= 20:
        ax.set_yticks(range(rows))
    ax.set_xlabel(text["jac_x"])
    ax.set_ylabel(text["jac_y"])
    ax.set_title(text["jac_title"])
    return ax
