"""Japanese text cells carry no line breaks inside sentences (Markdown would render a space)."""
from coursebuild.prose import unwrap_japanese


def test_a_line_break_between_japanese_characters_is_removed():
    assert unwrap_japanese("勾配は累積\nされます。") == "勾配は累積されます。"


def test_breaks_next_to_latin_text_lists_code_and_math_stay():
    text = "`x.grad` を使います\nx.grad は\n\n- 一つ目\n- 二つ目\n\n$$\n勾配\n微分\n$$\n```\n# 日本語\n# 日本語\n```"
    assert unwrap_japanese(text) == text


def test_the_continuation_of_a_list_item_is_joined_without_its_indentation():
    assert (unwrap_japanese("- ヤコビ行列を求める方法と、\n  ベクトル・ヤコビ行列積\n- 次の項目")
            == "- ヤコビ行列を求める方法と、ベクトル・ヤコビ行列積\n- 次の項目")
    assert unwrap_japanese("1. エラーに\n   なります。") == "1. エラーになります。"


def test_a_break_next_to_emphasis_marks_is_removed():
    assert unwrap_japanese("もう半分である\n**フォワードモード**を学びます") == "もう半分である**フォワードモード**を学びます"
    assert unwrap_japanese("ではなく\n*導関数*です") == "ではなく*導関数*です"
    assert unwrap_japanese("**勾配**\nが入ります") == "**勾配**が入ります"


def test_list_items_headings_and_quotes_are_not_joined_to_the_line_before():
    text = "次のとおりです。\n* 一つ目\n- 二つ目\n1. 三つ目\n> 引用です\n## 見出し\n本文です"
    assert unwrap_japanese(text) == text


def test_after_japanese_punctuation_the_break_goes_whatever_the_next_line_starts_with():
    assert unwrap_japanese("約 2.68 になります。\n2 倍は") == "約 2.68 になります。2 倍は"
    assert unwrap_japanese("勾配を求めたあと、\n`x.grad` を読みます") == "勾配を求めたあと、`x.grad` を読みます"
    assert unwrap_japanese("次の式です：\n$y = x^2$ の") == "次の式です：$y = x^2$ の"
    assert unwrap_japanese("終わりです。\n\nPyTorch は") == "終わりです。\n\nPyTorch は"  # a paragraph break stays
    assert unwrap_japanese("次のとおりです。\n- 項目") == "次のとおりです。\n- 項目"


def _stray_emphasis_marks(markdown: str) -> list[str]:
    """Text (outside code and math) that still holds a `*` once CommonMark has rendered the cell."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    found = []

    def walk(tokens):
        for tok in tokens:
            if tok.children:
                walk(tok.children)
            elif tok.type == "text" and "*" in tok.content:
                found.append(tok.content)
    walk(MarkdownIt("commonmark").use(dollarmath_plugin).parse(markdown))
    return found


def test_a_closing_star_after_punctuation_before_a_letter_is_caught():
    """CommonMark cannot close emphasis at `)*로`: the reader would see the asterisks."""
    assert _stray_emphasis_marks("큰 모델은 *혼합 정밀도(mixed precision)*로 학습합니다")
    assert not _stray_emphasis_marks("큰 모델은 *혼합 정밀도*(mixed precision)로, `x * y`, $a * b$")


def test_every_emphasis_in_the_student_notebooks_renders():
    import json

    from _build import ROOT

    stray = [(path.relative_to(ROOT).as_posix(), text[:60])
             for path in sorted((ROOT / "notebooks").glob("*/*.ipynb"))
             for cell in json.loads(path.read_text(encoding="utf-8"))["cells"] if cell["cell_type"] == "markdown"
             for text in _stray_emphasis_marks("".join(cell["source"]))]
    assert not stray, f"emphasis marks that do not render (move the * next to a letter): {stray}"


def test_every_emphasis_in_the_readmes_renders():
    """The READMEs are the project's front page: `**…/**입니다` showed its asterisks there."""
    from _build import ROOT

    stray = [(name, text[:60]) for name in ("README.md", "README.ja.md", "README.ko.md", "CONTRIBUTING.md")
             for text in _stray_emphasis_marks((ROOT / name).read_text(encoding="utf-8"))]
    assert not stray, f"emphasis marks that do not render (move the * next to a letter): {stray}"
