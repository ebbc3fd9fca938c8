"""The lesson build: lessons/NN_slug.md (jupytext MyST) -> solutions/{en,ja,ko}/ and notebooks/{en,ja,ko}/.

`tools/build_notebooks.py` is the command line; `make setup` installs this package (tools/pyproject.toml).
"""
from .build import build, differences, find_lessons, generated_files, write
from .compose import FORMS, notebook_path
from .config import DEFAULT_CONFIG, LANGUAGES, ROOT, ConfigError, CourseConfig, load_config
from .formulas import display_formulas, formula_labels
from .lesson import Lesson, LessonError, read_lesson

__all__ = [
    "build", "differences", "find_lessons", "generated_files", "write", "FORMS", "notebook_path",
    "DEFAULT_CONFIG", "LANGUAGES", "ROOT", "ConfigError", "CourseConfig", "load_config",
    "display_formulas", "formula_labels", "Lesson", "LessonError", "read_lesson",
]
