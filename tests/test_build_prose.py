"""Japanese text cells carry no line breaks inside sentences (Markdown would render a space)."""
from coursebuild.prose import unwrap_japanese


def test_a_line_break_between_japanese_characters_is_removed():
    assert unwrap_japanese("勾配は累積\nされます。") == "勾配は累積されます。"


def test_breaks_next_to_latin_text_lists_code_and_math_stay():
    text = "`x.grad` を使います\nx.grad は\n\n- 一つ目\n- 二つ目\n\n$$\n勾配\n微分\n$$\n```\n# 日本語\n# 日本語\n```"
    assert unwrap_japanese(text) == text
