"""gradcoach's message catalogues: every message in every language, with the same placeholders,
the same code, and the glossary's terms."""
import json
import re
import string
from pathlib import Path

import pytest

from gradcoach import i18n

from _glossary import TRANSLATED, find_banned, terms

LOCALES = Path(i18n.__file__).with_name("locales")
# Messages that read the same in every language (code names, table marks).
SAME_IN_EVERY_LANGUAGE = {"col_autograd", "verdict_ok", "bound_atol", "bound_rtol"}
# Punctuation only (a title's colon: full-width in Japanese), so no letters of the language.
PUNCTUATION = {"title_sep"}
SCRIPT = {"ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"), "ko": re.compile(r"[\uac00-\ud7af]")}


def load(lang: str) -> dict:
    with open(LOCALES / f"{lang}.json", encoding="utf-8") as fh:
        return json.load(fh)


def fields(template: str) -> set[tuple[str, str, str | None]]:
    """(name, format spec, conversion) of every replacement field in a str.format template."""
    return {(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
            if name is not None}


def dummy(name: str, spec: str):
    """A value the format spec accepts: a float for numeric specs, else the field's own name."""
    return 1.25e-3 if spec and spec[-1] in "eEfFgG%" else f"<{name}>"


EN = load("en")


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_has_exactly_the_english_keys_in_the_same_order(lang):
    got = list(load(lang))
    missing = [k for k in EN if k not in got]
    extra = [k for k in got if k not in EN]
    assert not missing and not extra, f"{lang}.json: missing {missing}, extra {extra}"
    assert got == list(EN), f"{lang}.json lists its keys in another order than en.json"


@pytest.mark.parametrize("lang", ("en",) + TRANSLATED)
def test_every_message_is_a_nonempty_string(lang):
    empty = [k for k, v in load(lang).items() if not isinstance(v, str) or not v.strip()]
    assert not empty, f"{lang}.json: empty or non-string messages {empty}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_keeps_each_messages_placeholders_and_format_specs(lang):
    cat = load(lang)
    wrong = {k: (sorted(fields(cat[k])), sorted(fields(EN[k]))) for k in EN
             if k in cat and fields(cat[k]) != fields(EN[k])}
    assert not wrong, f"{lang}.json: placeholders differ from en.json (got, want): {wrong}"


@pytest.mark.parametrize("lang", ("en",) + TRANSLATED)
def test_every_message_formats_through_gradcoach_and_shows_each_value(lang):
    for key, template in load(lang).items():
        values = {name: dummy(name, spec) for name, spec, _ in fields(template)}
        text = i18n.t(key, lang=lang, **values)
        for name, spec, _ in fields(template):
            assert format(values[name], spec) in text, f"{lang}.{key}: {{{name}}} does not show"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_keeps_the_code_in_backticks_unchanged(lang):
    cat = load(lang)
    spans = re.compile(r"`([^`]+)`")
    wrong = {k: sorted(set(spans.findall(EN[k])) ^ set(spans.findall(cat[k]))) for k in EN
             if k in cat and set(spans.findall(cat[k])) != set(spans.findall(EN[k]))}
    assert not wrong, f"{lang}.json: code spans added, lost or changed: {wrong}"


API_NAME = re.compile(r"\btorch(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_keeps_torch_api_names_outside_backticks_unchanged(lang):
    # "torch.autograd.grad" is code even in running text: translating "autograd" in it breaks it
    messages = load(lang)
    wrong = {key: sorted(set(API_NAME.findall(EN[key])) ^ set(API_NAME.findall(messages[key])))
             for key in EN if set(API_NAME.findall(EN[key])) != set(API_NAME.findall(messages[key]))}
    assert not wrong, f"{lang}.json: torch names changed: {wrong}"


@pytest.mark.parametrize("lang", ("en",) + TRANSLATED)
def test_backticks_pair_up_so_code_spans_render(lang):
    odd = [k for k, v in load(lang).items() if v.count("`") % 2]
    assert not odd, f"{lang}.json: odd number of backticks in {odd}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_actually_translated(lang):
    cat = load(lang)
    untranslated = [k for k, v in cat.items()
                    if k not in SAME_IN_EVERY_LANGUAGE | PUNCTUATION and not SCRIPT[lang].search(v)]
    assert not untranslated, f"{lang}.json: messages with no {lang} text: {untranslated}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_uses_no_banned_glossary_variant(lang):
    text = (LOCALES / f"{lang}.json").read_text(encoding="utf-8")
    hits = find_banned(text, lang)
    assert not hits, f"gradcoach/locales/{lang}.json:\n" + "\n".join(hits)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_instructor_messages_use_no_banned_glossary_variant(lang):
    from autograde.messages import MESSAGES
    hits = [f"{key}: {hit}" for key, texts in MESSAGES.items() for hit in find_banned(texts.get(lang, ""), lang)]
    assert not hits, f"autograde/messages.py ({lang}):\n" + "\n".join(hits)


def test_catalogues_use_the_glossary_term_for_gradient():
    for lang in TRANSLATED:
        assert terms()["gradient"][lang] in load(lang)["label_default"]


def test_glossary_entries_name_the_term_in_every_language():
    bad = [key for key, entry in terms().items()
           if not all(isinstance(entry.get(lang), str) and entry[lang].strip() for lang in ("en",) + TRANSLATED)]
    assert not bad, f"glossary entries missing a language: {bad}"


def test_no_banned_variant_is_part_of_a_chosen_term():
    chosen = {lang: [entry[lang] for entry in terms().values()] for lang in TRANSLATED}
    clashes = [(variant, term) for key, entry in terms().items()
               for lang, variants in (entry.get("banned") or {}).items()
               for variant in variants for term in chosen[lang] if variant in term]
    assert not clashes, f"banned variants inside chosen terms (the scan would flag the term itself): {clashes}"
