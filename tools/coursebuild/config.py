"""The course settings in ``lessons/course.yml``: repository, branch, install source, words per language."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from gradcoach_languages import LANGUAGES

LANGUAGE_KEYS = ("colab_badge", "other_languages", "setup_comment", "code_stub")
ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "lessons" / "course.yml"


class ConfigError(ValueError):
    """course.yml is missing something or has a wrong value."""


@dataclass(frozen=True)
class CourseConfig:
    repository: str
    branch: str
    gradcoach_install: str
    languages: dict  # lang -> {key: text} for LANGUAGE_KEYS
    #: lessons whose test cells are graded in the student's kernel (behind the guard), not in the
    #: checker process: lesson -> why (their tests exchange objects the checker cannot carry as data)
    in_kernel: dict = None

    def colab_url(self, path: str) -> str:
        """The Open-in-Colab address of a notebook at ``path`` (relative to the repository root)."""
        return f"https://colab.research.google.com/github/{self.repository}/blob/{self.branch}/{path}"

    def text(self, lang: str, key: str) -> str:
        return self.languages[lang][key]


def load_config(path: Path = DEFAULT_CONFIG) -> CourseConfig:
    """Read and check ``course.yml``; raise :class:`ConfigError` naming the file and the problem."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (the build needs the repository, branch and texts in it)") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None

    def fail(problem: str):
        raise ConfigError(f"{path}: {problem}")

    if not isinstance(data, dict):
        fail("expected a mapping with repository, branch, gradcoach_install and languages")
    for key in ("repository", "branch", "gradcoach_install"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            fail(f"'{key}' must be a non-empty string")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", data["repository"]):
        fail(f"'repository' must look like owner/name, not {data['repository']!r}")
    if not re.fullmatch(r"[A-Za-z0-9_./-]+", data["branch"]):
        fail(f"'branch' {data['branch']!r} has characters a URL cannot carry as is")
    try:
        install = data["gradcoach_install"].format(repository=data["repository"], branch=data["branch"])
    except (KeyError, IndexError, ValueError) as exc:
        fail(f"'gradcoach_install' may only use {{repository}} and {{branch}}: {exc}")
    if re.search(r"\btorch\b", install.split("@")[0]):
        fail("'gradcoach_install' must not install torch (Colab already has it)")
    languages = data.get("languages")
    if not isinstance(languages, dict):
        fail("'languages' must map en, ja and ko to their texts")
    for lang in LANGUAGES:
        texts = languages.get(lang)
        if not isinstance(texts, dict):
            fail(f"languages.{lang} is missing")
        for key in LANGUAGE_KEYS:
            if not isinstance(texts.get(key), str) or not texts[key].strip():
                fail(f"languages.{lang}.{key} must be a non-empty string")
        if "raise NotImplementedError()" not in texts["code_stub"]:
            fail(f"languages.{lang}.code_stub must keep `raise NotImplementedError()` (gradcoach.answer detects it)")
        if not all(line.startswith("#") for line in texts["setup_comment"].splitlines()):
            fail(f"languages.{lang}.setup_comment must be Python comment lines (starting with #)")
    in_kernel = (data.get("grading") or {}).get("in_kernel") or {}
    if not isinstance(in_kernel, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                                  for k, v in in_kernel.items()):
        fail("'grading.in_kernel' must map lesson names to the reason their tests cannot use the checker")
    return CourseConfig(
        in_kernel=dict(in_kernel),
        repository=data["repository"],
        branch=data["branch"],
        gradcoach_install=install,
        languages={lang: {key: languages[lang][key] for key in LANGUAGE_KEYS} for lang in LANGUAGES},
    )
