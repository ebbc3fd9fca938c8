"""The message catalogues, gradcoach's (what students read in a notebook) and autograde's (feedback,
the command line, the class report): every message in every language, with the same placeholders,
the same code, and the glossary's terms."""
import json
import re
import string
from pathlib import Path

import pytest

from autograde import messages
from gradcoach import i18n

from _glossary import TRANSLATED, find_banned, terms

# catalogue -> (its locales folder, its formatting function t(key, lang=..., **values))
CATALOGUES = {"gradcoach": (Path(i18n.__file__).with_name("locales"), i18n.t),
              "autograde": (messages.LOCALES, messages.t)}
# Messages that read the same in every language (code names, table marks).
SAME_IN_EVERY_LANGUAGE = {"gradcoach": {"col_grad", "verdict_ok", "bound_atol", "bound_rtol"}, "autograde": set()}
# Punctuation or spacing only (a title's colon: full-width in Japanese; a name in words followed by a
# particle, with no space in Japanese), so no letters of the language.
PUNCTUATION = {"title_sep", "word_name_join", "sentence_join"}
SCRIPT = {"ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"), "ko": re.compile(r"[\uac00-\ud7af]")}
EACH = pytest.mark.parametrize("name", sorted(CATALOGUES))


def load(lang: str, name: str = "gradcoach") -> dict:
    with open(CATALOGUES[name][0] / f"{lang}.json", encoding="utf-8") as fh:
        return json.load(fh)


def fields(template: str) -> set[tuple[str, str, str | None]]:
    """(name, format spec, conversion) of every replacement field in a str.format template."""
    return {(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template)
            if name is not None}


def dummy(name: str, spec: str):
    """A value the format spec accepts: a float for numeric specs, else the field's own name."""
    return 1.25e-3 if spec and spec[-1] in "eEfFgG%" else f"<{name}>"


EN = {name: load("en", name) for name in CATALOGUES}


@EACH
@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_has_exactly_the_english_keys_in_the_same_order(lang, name):
    EN = globals()["EN"][name]
    got = list(load(lang, name))
    missing = [k for k in EN if k not in got]
    extra = [k for k in got if k not in EN]
    assert not missing and not extra, f"{lang}.json: missing {missing}, extra {extra}"
    assert got == list(EN), f"{lang}.json lists its keys in another order than en.json"


@EACH
@pytest.mark.parametrize("lang", ("en",) + TRANSLATED)
def test_every_message_is_a_nonempty_string(lang, name):
    empty = [k for k, v in load(lang, name).items() if not isinstance(v, str) or not v.strip()]
    assert not empty, f"{lang}.json: empty or non-string messages {empty}"


@EACH
@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_keeps_each_messages_placeholders_and_format_specs(lang, name):
    EN, cat = globals()["EN"][name], load(lang, name)
    wrong = {k: (sorted(fields(cat[k])), sorted(fields(EN[k]))) for k in EN
             if k in cat and fields(cat[k]) != fields(EN[k])}
    assert not wrong, f"{lang}.json: placeholders differ from en.json (got, want): {wrong}"


@EACH
@pytest.mark.parametrize("lang", ("en",) + TRANSLATED)
def test_every_message_formats_through_its_module_and_shows_each_value(lang, name):
    t = CATALOGUES[name][1]
    for key, template in load(lang, name).items():
        values = {field: dummy(field, spec) for field, spec, _ in fields(template)}
        text = t(key, lang, **values)
        for field, spec, _ in fields(template):
            assert format(values[field], spec) in text, f"{name} {lang}.{key}: {{{field}}} does not show"


@EACH
@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_keeps_the_code_in_backticks_unchanged(lang, name):
    EN, cat = globals()["EN"][name], load(lang, name)
    spans = re.compile(r"`([^`]+)`")
    wrong = {k: sorted(set(spans.findall(EN[k])) ^ set(spans.findall(cat[k]))) for k in EN
             if k in cat and set(spans.findall(cat[k])) != set(spans.findall(EN[k]))}
    assert not wrong, f"{lang}.json: code spans added, lost or changed: {wrong}"


API_NAME = re.compile(r"\btorch(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


@EACH
@pytest.mark.parametrize("lang", TRANSLATED)
def test_translation_keeps_torch_api_names_outside_backticks_unchanged(lang, name):
    # "torch.autograd.grad" is code even in running text: translating "autograd" in it breaks it
    EN, cat = globals()["EN"][name], load(lang, name)
    wrong = {key: sorted(set(API_NAME.findall(EN[key])) ^ set(API_NAME.findall(cat[key])))
             for key in EN if set(API_NAME.findall(EN[key])) != set(API_NAME.findall(cat[key]))}
    assert not wrong, f"{lang}.json: torch names changed: {wrong}"


@EACH
@pytest.mark.parametrize("lang", ("en",) + TRANSLATED)
def test_backticks_pair_up_so_code_spans_render(lang, name):
    odd = [k for k, v in load(lang, name).items() if v.count("`") % 2]
    assert not odd, f"{lang}.json: odd number of backticks in {odd}"


@EACH
@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_actually_translated(lang, name):
    cat = load(lang, name)
    untranslated = [k for k, v in cat.items()
                    if k not in SAME_IN_EVERY_LANGUAGE[name] | PUNCTUATION and not SCRIPT[lang].search(v)]
    assert not untranslated, f"{lang}.json: messages with no {lang} text: {untranslated}"


@EACH
@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_uses_no_banned_glossary_variant(lang, name):
    hits = [f"{key}: {hit}" for key, text in load(lang, name).items() for hit in find_banned(text, lang)]
    assert not hits, f"{name}/locales/{lang}.json:\n" + "\n".join(hits)


@EACH
def test_the_glossary_scan_reads_each_catalogue(name, tmp_path, monkeypatch):
    """The scan above finds a banned variant planted in a catalogue (it reads the real files)."""
    folder, _ = CATALOGUES[name]
    planted = {**load("ko", name), "planted": "변화도"}
    (tmp_path / "ko.json").write_text(json.dumps(planted, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setitem(CATALOGUES, name, (tmp_path, CATALOGUES[name][1]))
    assert [hit for key, text in load("ko", name).items() for hit in find_banned(text, "ko")]


def test_autograde_messages_are_read_from_its_catalogue_with_english_for_an_unknown_language():
    assert messages.t("fb_score", "ja") == load("ja", "autograde")["fb_score"] == "得点"
    assert messages.t("fb_score", "xx") == messages.t("fb_score", "en") == "Score"
    assert messages.labels("ko")["score"] == "점수"


def test_catalogues_use_the_glossary_term_for_gradient():
    for lang in TRANSLATED:
        assert terms()["gradient"][lang] in load(lang)["report_title"]


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
