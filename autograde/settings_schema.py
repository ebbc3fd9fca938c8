"""The schema of a course's autograde.json, checked on every load: a wrong type or an unknown key
(``"memory_mb": "2048"``, ``"cell_timout"``) is an error naming the key, not a silently wrong limit."""
from __future__ import annotations

from dataclasses import fields

from gradcoach_languages import LANGUAGES

from .messages import Text
from .sandbox import Limits

_POSITIVE = {"type": "integer", "minimum": 1}

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "lang": {"enum": list(LANGUAGES)},
        "source": {"type": "string"},
        "assignments": {"type": "array", "items": {"type": "string", "pattern": r"^\d\d_[a-z0-9_]+$"}},
        "release_dir": {"type": "string"},
        "db_url": {"type": "string"},
        "cell_timeout": _POSITIVE,
        "sandbox": {"type": "boolean"},
        "limits": {"type": "object", "additionalProperties": False,
                   "properties": {f.name: _POSITIVE for f in fields(Limits)}},
    },
}


def _schema() -> dict:
    """SCHEMA, with any other field of Settings allowed too (typed by its own code)."""
    from .course import Settings

    extra = {f.name: {} for f in fields(Settings) if f.name not in SCHEMA["properties"]}
    return {**SCHEMA, "properties": {**SCHEMA["properties"], **extra}}


#: jsonschema's validator kinds, each told by a message of the catalogue (tests check that every
#: kind SCHEMA uses is here); any other kind falls back to ``sv_other`` with jsonschema's own words.
MESSAGES = {"type": "sv_type", "minimum": "sv_minimum", "maximum": "sv_maximum", "enum": "sv_enum",
            "pattern": "sv_pattern", "additionalProperties": "sv_unknown_keys", "required": "sv_required"}
#: kinds that only lead to others (their errors come from the subschema they apply)
STRUCTURAL = {"properties", "items"}
_TYPES = ("integer", "string", "boolean", "array", "object")


def _describe(error) -> Text:
    key = ".".join(str(p) for p in error.absolute_path)
    kind, value = error.validator, error.validator_value
    if kind == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = ", ".join(map(repr, sorted(set(error.instance) - set(known))))
        return Text("sv_unknown_keys_in" if key else "sv_unknown_keys", key=key, unknown=unknown,
                    known=", ".join(known))
    if kind == "type" and not key:
        return Text("sv_not_an_object", value=_shown(error.instance))
    if kind == "type" and value in _TYPES:
        return Text("sv_type", key=key, want=Text(f"sv_want_{value}"), value=_shown(error.instance))
    if kind in ("minimum", "maximum"):
        return Text(MESSAGES[kind], key=key, bound=value, value=_shown(error.instance))
    if kind == "enum":
        return Text("sv_enum", key=key, choices=", ".join(map(str, value)), value=_shown(error.instance))
    if kind == "pattern":
        return Text("sv_pattern", key=key, pattern=value, value=_shown(error.instance))
    if kind == "required":
        missing = [name for name in value if name not in error.instance]
        return Text("sv_required", name=", ".join(f"{key}.{n}" if key else n for n in missing))
    return Text("sv_other", key=key or "autograde.json", detail=error.message)


def _shown(value) -> str:
    """The wrong value as the file has it, cut short if long."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def problems(data) -> list[Text]:
    """What is wrong with ``data``, one message per problem, each naming its key (empty: valid)."""
    from jsonschema import Draft202012Validator

    errors = sorted(Draft202012Validator(_schema()).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [_describe(error) for error in errors]
