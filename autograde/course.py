"""A course directory: where everything lives, its settings, and the nbgrader configuration.

Layout (nbgrader's, plus a few of ours)::

    <root>/autograde.json         course settings (language, sources, assignments, limits)
    <root>/nbgrader_config.py     the same settings for nbgrader's own CLI and formgrader
    <root>/gradebook.db           nbgrader's gradebook (unless --db-url points elsewhere)
    <root>/source/<a>/<a>.ipynb   copied from solutions/<lang>/
    <release>/<a>/<a>.ipynb       student version (``make release``; classroom/release by default)
    <root>/lms/                   every LMS download, kept untouched
    <root>/submitted/<s>/<a>/     collected by nbgrader zip_collect; never modified afterwards
    <root>/unmatched/             LMS files whose name or content matched no student/assignment
    <root>/repaired/<s>/<a>/      what nbgrader autogrades (see repair.py)
    <root>/autograded/, feedback/ nbgrader's
    <root>/grades.csv, report.json, report.csv
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from coursebuild.config import load_config

from .messages import Joined, Text
from .sandbox import KernelSettings, Limits

REPO = Path(__file__).resolve().parent.parent
# Runtime state lives outside the source package: the instructor's course directory (--course, COURSE=)
# or, by default, the git-ignored top-level classroom/.
STATE = REPO / "classroom"
DEFAULT_ROOT = STATE / "class"
DEFAULT_RELEASE = STATE / "release"
SAMPLE_ROOT = STATE / "sample"
COURSE_ID = "autograd-course"
LESSON_RE = re.compile(r"^(\d\d)_[a-z0-9_]+$")
DB_ENV = "AUTOGRADE_DB_URL"

# nbgrader runs the `alembic` script when it creates a gradebook; make it findable even when the
# virtual environment is used without being activated (the Makefile calls .venv/bin/python).
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")


class CourseError(Exception):
    """Something the instructor must fix; the message (``key`` in autograde/locales) says what.
    ``str()`` is the English message; :meth:`message` is the one in a course language."""

    def __init__(self, key: str, /, **values):
        self.text = Text(key, **values)
        super().__init__(str(self.text))

    def message(self, lang: str) -> str:
        return self.text.render(lang)


def declared_lang(root: Path | str) -> str | None:
    """The language the course's autograde.json names, even when the rest of it is invalid (so that
    the error saying what is wrong is told in that language); None when it names none it can."""
    from gradcoach_languages import normalise

    try:
        data = json.loads((Path(root) / "autograde.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    lang = data.get("lang") if isinstance(data, dict) else None
    return normalise(lang) if isinstance(lang, str) else None


@dataclass
class Settings:
    lang: str = "en"
    source: str = ""                       # solutions/<lang> the assignments were released from
    assignments: list[str] = field(default_factory=list)
    release_dir: str = ""                  # absolute
    db_url: str = ""                       # empty: sqlite in the course root
    cell_timeout: int = 120                # seconds per cell (nbgrader's default is 30; torch imports are slow)
    sandbox: bool = True
    limits: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> "Settings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class Course:
    def __init__(self, root: Path | str = DEFAULT_ROOT, *, db_url: str | None = None):
        self.root = Path(root).resolve()
        self.settings_path = self.root / "autograde.json"
        self.settings = self._load_settings() if self.settings_path.exists() else Settings()
        override = db_url or os.environ.get(DB_ENV)
        if override:
            self.settings.db_url = override

    def _load_settings(self) -> Settings:
        from .settings_schema import problems

        try:
            data = json.loads(self.settings_path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CourseError("ce_settings_json", path=self.settings_path, error=exc) from exc
        found = problems(data)
        if found:
            raise CourseError("ce_settings_invalid", path=self.settings_path, problems=Joined("\n  ", found))
        return Settings.from_dict(data)

    # -- paths ------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.settings_path.exists()

    @property
    def db_url(self) -> str:
        return self.settings.db_url or f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def release_dir(self) -> Path:
        return Path(self.settings.release_dir) if self.settings.release_dir else self.root / "release"

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def source_notebook(self, assignment: str) -> Path:
        return self.path("source", assignment, f"{assignment}.ipynb")

    def release_notebook(self, assignment: str) -> Path:
        return self.release_dir / assignment / f"{assignment}.ipynb"

    @property
    def limits(self) -> Limits:
        return Limits(**self.settings.limits)

    def save(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        data = asdict(self.settings)
        if os.environ.get(DB_ENV) == data["db_url"]:
            data["db_url"] = ""  # a URL given by the environment (it may hold a password) stays there
        self.settings_path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        self.path(".autograde", "exchange").mkdir(parents=True, exist_ok=True)
        self.write_nbgrader_config()

    def submissions(self) -> list[tuple[str, str]]:
        """(student, assignment) pairs collected into submitted/."""
        base = self.path("submitted")
        if not base.is_dir():
            return []
        return sorted((s.name, a.name) for s in base.iterdir() if s.is_dir()
                      for a in s.iterdir() if a.is_dir() and a.name in self.settings.assignments)

    # -- nbgrader configuration -------------------------------------------------------------
    def nbgrader_config(self):
        """The traitlets Config every nbgrader call of ours runs with."""
        from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
        from nbgrader.preprocessors import (
            AssignLatePenalties,
            CheckCellMetadata,
            GetGrades,
            IgnorePattern,
            LimitOutput,
            SaveAutoGrades,
        )
        from traitlets.config import Config

        from .execute import SandboxedExecute
        from .feedback import NBGRADER_TEMPLATES, TEMPLATES, SanitizeFeedback

        c = Config()
        c.CourseDirectory.root = str(self.root)
        c.CourseDirectory.course_id = COURSE_ID
        c.CourseDirectory.db_url = self.db_url
        c.CourseDirectory.release_directory = str(self.release_dir)
        c.Exchange.root = str(self.path(".autograde", "exchange"))  # unused; keeps nbgrader from probing /usr/local
        # the answer stub of the release is the build's (lessons/course.yml), so both student forms agree
        c.ClearSolutions.code_stub = {"python": load_config().text(self.settings.lang, "code_stub")}
        c.Autograde.autograde_preprocessors = [SandboxedExecute, IgnorePattern, ClearMetadataPreprocessor,
                                               LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
        c.SandboxedExecute.timeout = self.settings.cell_timeout
        c.SandboxedExecute.in_kernel = load_config().in_kernel
        c.SandboxedExecute.sandbox = KernelSettings(self.limits, self.settings.lang, self.settings.sandbox).to_config()
        c.GenerateFeedback.preprocessors = [GetGrades, SanitizeFeedback, CSSHTMLHeaderPreprocessor]
        c.SanitizeFeedback.lang = self.settings.lang
        c.SanitizeFeedback.notes_dir = str(self.path(".autograde", "notes"))
        # ours first (the translated feedback), then nbgrader's, where Formgrader finds its `formgrade`
        c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), str(NBGRADER_TEMPLATES)]
        return c

    def write_nbgrader_config(self) -> None:
        """So that ``nbgrader formgrader``/``nbgrader autograde`` run in the course root behave the same."""
        text = '''# Written by `python -m autograde` (autograde/course.py); regenerated on every release.
import os

from autograde.course import Course  # installed by `make setup` (tools/pyproject.toml)

c = get_config()  # noqa: F821
c.merge(Course(os.path.dirname(os.path.abspath(__file__))).nbgrader_config())
'''
        self.path("nbgrader_config.py").write_text(text)


def active_root(explicit: Path | str | None = None) -> Path:
    """The course `make lab` opens in Formgrader: ``COURSE=`` if given, else the instructor's class
    once `make release` has made it, else the bundled sample class (`make grade` on a fresh clone)."""
    if explicit:
        return Path(explicit).resolve()
    return DEFAULT_ROOT if Course(DEFAULT_ROOT).exists else SAMPLE_ROOT


def jupyter_env(root: Path, env: dict | None = None) -> dict:
    """The environment a Jupyter server needs to run nbgrader (Formgrader, Validate) on this course.

    nbgrader's server extensions read ``nbgrader_config.py`` from the Jupyter config path, so the
    course root goes first on ``JUPYTER_CONFIG_PATH``: the file `release` writes there, the one the
    CLI reads in the course root, is the only place the course is configured.
    """
    env = dict(os.environ if env is None else env)
    paths = [str(Path(root).resolve())] + [p for p in env.get("JUPYTER_CONFIG_PATH", "").split(os.pathsep) if p]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(paths)
    return env


def lesson_sources(source_dir: Path) -> dict[str, Path]:
    """The NN_slug notebooks of a solutions/<lang> directory, by assignment name."""
    if not source_dir.is_dir():
        return {}
    return {p.stem: p for p in sorted(source_dir.glob("*.ipynb")) if LESSON_RE.match(p.stem)}


def release(course: Course, source_dir: Path, lang: str, assignments: list[str] | None = None, log=print) -> list[str]:
    """Register one assignment per lesson and build the student versions with nbgrader."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from . import dblock

    sources = lesson_sources(source_dir)
    if assignments:
        missing = sorted(set(assignments) - set(sources))
        if missing:
            raise CourseError("ce_missing_notebooks", source=source_dir, missing=", ".join(missing),
                              present=", ".join(sources) or "—")
        sources = {a: sources[a] for a in assignments}
    if not sources:
        raise CourseError("ce_no_notebooks", source=source_dir)
    if course.exists and course.settings.lang != lang and course.submissions():
        raise CourseError("ce_mixed_lang", root=course.root, taught=course.settings.lang, lang=lang)
    course.settings.lang = lang
    course.settings.source = str(source_dir.resolve())
    course.settings.assignments = sorted(set(course.settings.assignments) | set(sources))
    course.save()
    dblock.install(course.path(".autograde", "db.lock"))
    config = course.nbgrader_config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    for name, src in sources.items():
        dest = course.source_notebook(name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise CourseError("ce_release_failed", name=name, log=f"{result['log'][-3000:]}\n{result.get('error', '')}")
        log(f"released {name}: {course.release_notebook(name)}")
    return list(sources)
