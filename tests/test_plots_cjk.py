"""gradcoach.plotting: the lessons' figures render in en/ja/ko with every glyph present, and fall back
to English labels (never empty boxes) where no CJK font is installed, as in a fresh Colab."""
import io
import logging
import os
import warnings

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from gradcoach import plotting  # noqa: E402

# Asked of the system, as use_cjk_font does: matplotlib's cached font list can predate an apt-get
# install of the fonts, so it is not a reliable answer.
CJK_FILES = sorted(p for p in font_manager.findSystemFonts() if "CJK" in p.upper())
CJK_INSTALLED = bool(CJK_FILES)
MPL_DATA = os.path.realpath(matplotlib.get_data_path()) + os.sep


def bundled_fonts():
    """The fonts matplotlib ships (DejaVu, STIX, Computer Modern and, since 3.10, "Last Resort",
    whose boxes cover every code point): all that a fresh Colab's matplotlib knows."""
    return [f for f in font_manager.fontManager.ttflist if os.path.realpath(f.fname).startswith(MPL_DATA)]


def draw_all(lang):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    plotting.tangent(lambda x: x ** 3 - 2 * x, [0.0, 1.2], lang=lang, ax=axes[0])
    plotting.fd_error(torch.exp, torch.exp, 1.0, lang=lang, ax=axes[1])
    plotting.jacobian(lambda x: torch.stack([x[0] * x[1], torch.sin(x[1]), x.sum() ** 2]),
                      torch.tensor([1.0, 2.0]), lang=lang, ax=axes[2])
    return fig


def render_strictly(fig, caplog):
    """Render to PNG, SVG and PDF; any glyph warning (a `warnings` warning or matplotlib's log,
    which mathtext uses for 'substituting with a dummy symbol') fails."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="matplotlib"), warnings.catch_warnings():
        warnings.simplefilter("error")
        for fmt in ("png", "svg", "pdf"):
            fig.savefig(io.BytesIO(), format=fmt)
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not problems, problems


@pytest.fixture(autouse=True)
def fresh_font_choice(monkeypatch):
    monkeypatch.setattr(plotting, "_chosen", {})
    monkeypatch.setattr(plotting, "_hinted", set())
    with matplotlib.rc_context():
        yield
    plt.close("all")


def texts_of(fig):
    return " ".join(t.get_text() for ax in fig.axes for t in
                    [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                     *(ax.get_legend().get_texts() if ax.get_legend() else [])])


@pytest.mark.skipif(not CJK_INSTALLED, reason="no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
@pytest.mark.parametrize("lang, word", [("ja", "接線"), ("ko", "접선")])
def test_cjk_labels_render_without_missing_glyphs(lang, word, caplog):
    assert plotting.use_cjk_font(lang) is not None
    fig = draw_all(lang)
    assert word in texts_of(fig)
    assert "ヤコビ行列" in texts_of(fig) if lang == "ja" else "야코비 행렬" in texts_of(fig)
    render_strictly(fig, caplog)


def test_english_labels_render_without_missing_glyphs(caplog):
    fig = draw_all("en")
    assert "tangent at x = 1.2" in texts_of(fig)
    render_strictly(fig, caplog)


def test_the_strict_render_does_catch_a_missing_glyph(caplog):
    """Guards the guard: with no CJK fallback, Japanese text in a figure is reported."""
    matplotlib.rcParams["font.family"] = ["DejaVu Sans"]
    fig, ax = plt.subplots()
    ax.set_title("接線")
    with pytest.raises((AssertionError, UserWarning), match="missing from font"):
        render_strictly(fig, caplog)


def test_without_a_cjk_font_labels_fall_back_to_english_with_a_note(monkeypatch, capsys, caplog):
    """A fresh Colab: matplotlib knows only the fonts it ships and the system has no CJK font either."""
    monkeypatch.setattr(font_manager.fontManager, "ttflist", bundled_fonts())
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    assert plotting.use_cjk_font("ja") is None
    fig = draw_all("ja")
    assert "tangent at x = 1.2" in texts_of(fig) and "接線" not in texts_of(fig)
    render_strictly(fig, caplog)
    draw_all("ja")
    note = capsys.readouterr().out
    assert note.count("fonts-noto-cjk") == 1, "the note is printed once, in Japanese"
    assert "日本語フォント" in note


def test_a_cjk_font_installed_after_matplotlib_started_is_found(monkeypatch):
    """apt-get install fonts-noto-cjk in a running Colab: no restart needed."""
    if not CJK_INSTALLED:
        pytest.skip("no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
    monkeypatch.setattr(font_manager.fontManager, "ttflist", bundled_fonts())
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: CJK_FILES)
    assert "CJK" in plotting.use_cjk_font("ko")


def test_matplotlibs_last_resort_font_is_never_taken_for_a_cjk_font(monkeypatch):
    """Its character map covers every code point, but it draws each one as a box."""
    last_resort = [f for f in bundled_fonts() if f.name.lower().startswith("last resort")]
    if not last_resort:
        pytest.skip("this matplotlib ships no Last Resort font")
    assert plotting._label_chars("ko") <= plotting._charmap(last_resort[0]), "it would pass the charmap test"
    monkeypatch.setattr(font_manager.fontManager, "ttflist", bundled_fonts())
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *a, **k: [])
    assert plotting.use_cjk_font("ko") is None


def test_cjk_font_is_a_fallback_after_the_latin_font():
    if not CJK_INSTALLED:
        pytest.skip("no CJK font installed")
    family = plotting.use_cjk_font("ja")
    families = matplotlib.rcParams["font.family"]
    assert families[-1] == family and len(families) >= 2
    plotting.use_cjk_font("ja")
    assert matplotlib.rcParams["font.family"].count(family) == 1, "calling twice adds it once"


def test_english_needs_no_font_and_unknown_languages_are_refused():
    assert plotting.use_cjk_font("en") is None
    with pytest.raises(ValueError, match="Unknown language .fr."):
        plotting.use_cjk_font("fr")


def test_tangent_slope_comes_from_autograd():
    ax = plotting.tangent(lambda x: x ** 2, 1.5, lang="en")
    line = ax.lines[1]  # f, then the tangent
    (x1, x2), (y1, y2) = line.get_xdata(), line.get_ydata()
    assert (y2 - y1) / (x2 - x1) == pytest.approx(3.0)
    assert "slope 3" in line.get_label()


def test_fd_error_curve_shows_the_v_shape():
    ax = plotting.fd_error(torch.sin, torch.cos, 0.7, lang="en")
    h, err = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()  # central difference, float64
    best = h[int(torch.tensor(err).nan_to_num(1.0).argmin())]
    assert 1e-7 < best < 1e-3, "the optimum step lies between rounding and truncation"
    assert err[0] > 1e3 * min(e for e in err if e == e) and err[-1] > 1e3 * min(e for e in err if e == e)


def test_jacobian_heatmap_shows_the_jacobian_of_a_function():
    x = torch.tensor([1.0, 2.0, 3.0])
    ax = plotting.jacobian(lambda x: x ** 2, x, lang="en")
    image = ax.images[0].get_array()
    assert image.shape == (3, 3)
    assert [image[i][i] for i in range(3)] == [2.0, 4.0, 6.0]
    assert image[0][1] == 0 and len(ax.texts) == 9
