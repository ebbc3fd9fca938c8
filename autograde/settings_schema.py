"""The schema of a course's autograde.json, checked on every load: a wrong type or an unknown key
(``"memory_mb": "2048"``, ``"cell_timout"``) is an error naming the key, not a silently wrong limit."""
from __future__ import annotations

from dataclasses import fields

from gradcoach_languages import LANGUAGES

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


def problems(data) -> list[str]:
    """What is wrong with ``data``, one line per problem, each naming its key (empty: valid)."""
    from jsonschema import Draft202012Validator

    found = []
    for error in sorted(Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.absolute_path)):
        key = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            unknown = sorted(set(error.instance) - set(allowed))
            where = f"{key}: " if key else ""
            found.append(f"{where}unknown key(s) {', '.join(map(repr, unknown))} (known: {', '.join(allowed)})")
        elif error.validator == "type" or error.validator == "minimum":
            want = {"integer": "a whole number", "string": "a string", "boolean": "true or false",
                    "array": "a list", "object": "an object"}.get(error.validator_value, error.validator_value)
            want = f"at least {error.validator_value}" if error.validator == "minimum" else want
            found.append(f"{key or 'the file'} must be {want}, not {error.instance!r}")
        elif error.validator == "enum":
            found.append(f"{key} must be one of {', '.join(map(str, error.validator_value))}, not {error.instance!r}")
        else:
            found.append(f"{key or 'the file'}: {error.message}")
    return found
