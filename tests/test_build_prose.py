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
