"""Import an LMS download (zip or folder) into the course with nbgrader's ``zip_collect``.

Step by step:

1. the download is copied untouched into ``<course>/lms/`` (nothing an LMS gave us is ever lost);
2. every file's path is matched against :data:`PATTERNS` (Moodle, Canvas, Blackboard, one folder
   per student) for the student id, and its name against the released notebooks for the
   assignment ("Copy of 01_x (1).ipynb" is 01_x; a notebook with an unrecognisable name is
   identified by its content);
3. of several files for the same student and assignment, the newest is kept (timestamp, else
   Canvas's resubmission suffix ``-N``, else the last in the download); the others are reported;
4. per assignment, nbgrader's ZipCollectApp copies the files into ``submitted/<student>/<a>/``
   through :class:`LmsCollectorPlugin`;
5. files that match no pattern, no assignment, or are not notebooks are copied to
   ``<course>/unmatched/`` and listed.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import unicodedata
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from rapidfuzz import fuzz
from traitlets import Dict

from .course import Course, CourseError

#: (name, regex on the file's path inside the download, '/'-separated). Named groups:
#: ``student_id`` and ``file`` (required), ``timestamp`` (optional). First match wins.
PATTERNS: list[tuple[str, re.Pattern]] = [
    # Moodle "Download all submissions", one folder per submission: "Aiko Tanaka_20001_assignsubmission_file_/x.ipynb"
    ("moodle", re.compile(r"(?:^|/)[^/]+?_(?P<student_id>\d+)_assignsubmission_(?:file|onlinetext)_?/(?:.*/)?(?P<file>[^/]+)$")),
    # Moodle without folders: "Aiko Tanaka_20001_assignsubmission_file_x.ipynb"
    ("moodle", re.compile(r"(?:^|/)[^/]+?_(?P<student_id>\d+)_assignsubmission_(?:file|onlinetext)_(?P<file>[^/]+)$")),
    # Canvas "Download submissions": "tanakaaiko_20001_987654_x.ipynb", late: "tanakaaiko_LATE_20001_987654_x-1.ipynb"
    ("canvas", re.compile(r"(?:^|/)[a-z0-9]+_(?:LATE_)?(?P<student_id>\d+)_\d+_(?P<file>[^/]+)$")),
    # Blackboard: "Lesson 1_tanaka_attempt_2024-05-01-10-30-00_x.ipynb"
    ("blackboard", re.compile(r"(?:^|/)[^/]+?_(?P<student_id>[^_/]+)_attempt_"
                              r"(?P<timestamp>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)_(?P<file>[^/]+)$")),
    # a folder per student: "tanaka/x.ipynb"
    ("folder", re.compile(r"^(?P<student_id>[A-Za-z0-9][A-Za-z0-9._@+-]*)/(?P<file>[^/]+)$")),
]
_COPY_PREFIXES = [re.compile(p, re.I) for p in (r"^(?:copy of\s+)+", r"^(?:사본\s*-\s*)+")]
_COPY_SUFFIXES = [re.compile(p) for p in (r"\s*の?コピー$", r"\s*의 사본$", r"\s*\(\d+\)$", r"\s*-\s*copy$")]
_RESUBMISSION = re.compile(r"-(\d+)$")
_SKIP = re.compile(r"(^|/)(__MACOSX|\.DS_Store|Thumbs\.db|desktop\.ini)(/|$)")
MAX_FILES, MAX_BYTES = 20_000, 4 * 1024**3


@dataclass
class Found:
    """One file of the download and what it was recognised as."""

    path: str                     # inside the download
    pattern: str = ""
    student: str = ""
    assignment: str = ""
    timestamp: str = ""
    resubmission: int = 0
    filename: str = ""            # the student's own file name (inside the LMS name)
    how: str = ""                 # how the assignment was identified
    problem: str = ""             # why it was not collected (unmatched / superseded)


def match_path(path: str) -> tuple[str, dict] | None:
    for name, regex in PATTERNS:
        m = regex.search(path)
        if m:
            return name, m.groupdict()
    return None


def _strip_copy_marks(stem: str) -> tuple[str, int]:
    """'Copy of 01_x (1)', '01_x のコピー', '01_x의 사본', '01_x-2' → ('01_x', resubmission)."""
    resubmission, previous = 0, None
    while stem != previous:
        previous = stem
        stem = stem.strip().strip("「」『』\"'")
        if stem.lower().endswith(".ipynb"):
            stem = stem[:-6]
        if stem.lower().startswith("copy of "):
            stem = stem[8:]
        for regex in _COPY_PREFIXES[1:] + _COPY_SUFFIXES:
            stem = regex.sub("", stem)
        m = _RESUBMISSION.search(stem)
        if m:
            resubmission = max(resubmission, int(m.group(1)))
            stem = stem[:m.start()]
    return stem, resubmission


def canonical_notebook(filename: str, known: list[str]) -> tuple[str | None, int]:
    """(assignment, resubmission number) for a notebook file name, or (None, 0)."""
    stem = unicodedata.normalize("NFC", filename)
    lowered = {k.lower(): k for k in known}
    exact = stem[:-6] if stem.lower().endswith(".ipynb") else stem
    if exact.lower() in lowered:
        return lowered[exact.lower()], 0
    stem, resubmission = _strip_copy_marks(stem)
    if stem.lower() in lowered:
        return lowered[stem.lower()], resubmission
    prefix = re.match(r"^(\d\d)[_ -]", stem)
    if prefix:
        same = [k for k in known if k.startswith(prefix.group(1) + "_")]
        if len(same) == 1:
            return same[0], resubmission
    scored = sorted(((fuzz.ratio(stem.lower(), k.lower()), k) for k in known), reverse=True)
    if scored and scored[0][0] >= 85:
        return scored[0][1], resubmission
    return None, resubmission


def _blackboard_time(value: str) -> str:
    if re.fullmatch(r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d", value):
        d, h = value[:10], value[11:].replace("-", ":")
        return f"{d} {h}"
    return value


def _stage(source: Path, staging: Path) -> list[str]:
    """Copy (or safely extract) the download into ``staging``; the relative file paths."""
    files = []
    if source.is_dir():
        for root, _, names in os.walk(source):
            for name in names:
                rel = Path(root, name).relative_to(source).as_posix()
                if not _SKIP.search(rel):
                    files.append(rel)
        shutil.copytree(source, staging, dirs_exist_ok=True)
        return sorted(files)
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        raise CourseError("ce_not_zip", source=source, error=exc) from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir() and not _SKIP.search(i.filename)]
        if len(infos) > MAX_FILES or sum(i.file_size for i in infos) > MAX_BYTES:
            raise CourseError("ce_zip_too_large", source=source, n=len(infos))
        for info in infos:
            name = _zip_name(info)
            parts = [p for p in Path(name).parts if p not in ("", ".", "..", "/")]
            if not parts:
                continue
            rel = "/".join(parts)
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            files.append(rel)
    return sorted(files)


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The member name, decoding legacy (cp437-flagged) names written by Windows in cp932/cp949."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    raw = name.encode("cp437", errors="replace")
    for encoding in ("utf-8", "cp932", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


class LmsCollectorPlugin(FileNameCollectorPlugin):
    """zip_collect's collector: files already recognised by :func:`collect` (``recognised``,
    keyed by path relative to the extracted folder), else the path :data:`PATTERNS`."""

    recognised = Dict(help="relative path -> {student_id, file_id, timestamp}").tag(config=True)

    def collect(self, submitted_file: str):
        extracted = Path(self.parent.coursedir.root, self.parent.downloaded_directory,
                         self.parent.coursedir.assignment_id, self.parent.extracted_directory)
        rel = Path(submitted_file).relative_to(extracted).as_posix()
        if rel in self.recognised:
            return dict(self.recognised[rel])
        matched = match_path(rel)
        if not matched or not rel.endswith(".ipynb"):
            return None
        name, groups = matched
        assignment = self.parent.coursedir.assignment_id
        found, _ = canonical_notebook(groups["file"], [assignment])
        if found is None:
            return None
        info = {"student_id": groups["student_id"], "file_id": f"{assignment}.ipynb"}
        if groups.get("timestamp"):
            info["timestamp"] = _blackboard_time(groups["timestamp"])
        return info


def collect(course: Course, source: Path, assignment: str | None = None, log=print) -> dict:
    """Import ``source`` (zip or folder); returns the collect report (also saved in the course)."""
    from nbgrader.apps.zipcollectapp import ZipCollectApp
    from nbgrader.coursedir import CourseDirectory

    from .repair import _Release, read_notebook

    if not course.settings.assignments:
        raise CourseError("ce_nothing_released", root=course.root)
    if assignment and assignment not in course.settings.assignments:
        raise CourseError("ce_unknown_assignment", assignment=repr(assignment),
                          released=", ".join(course.settings.assignments))
    source = Path(source).resolve()
    if not source.exists():
        raise CourseError("ce_missing_source", source=source)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    kept = course.path("lms", f"{stamp}-{source.name}")
    kept.parent.mkdir(parents=True, exist_ok=True)
    (shutil.copytree if source.is_dir() else shutil.copy2)(source, kept)
    staging = course.path(".autograde", "staging", stamp)
    files = _stage(source, staging)

    releases = {}
    for a in course.settings.assignments:
        nb, _ = read_notebook(course.release_notebook(a).read_bytes(), course.settings.lang)
        releases[a] = _Release(nb)
    found: list[Found] = []
    for rel in files:
        item = Found(rel)
        found.append(item)
        matched = match_path(rel)
        if not matched:
            item.problem = "file name matches no LMS pattern"
            continue
        item.pattern, groups = matched
        item.student, item.filename = groups["student_id"], groups["file"]
        item.timestamp = _blackboard_time(groups.get("timestamp") or "")
        if ".ipynb" not in item.filename.lower():  # Colab's copies may end in "のコピー" or "의 사본"
            item.problem = "not a notebook (.ipynb)"
            continue
        name, item.resubmission = canonical_notebook(groups["file"], course.settings.assignments)
        if assignment:
            item.assignment, item.how = assignment, "ASSIGNMENT given"
        elif name:
            item.assignment, item.how = name, "file name"
        else:
            nb, _ = read_notebook((staging / rel).read_bytes(), course.settings.lang)
            scores = sorted(((r.exercise_matches(nb), a) for a, r in releases.items()), reverse=True) if nb else []
            if scores and scores[0][0] > 0:
                item.assignment, item.how = scores[0][1], "content"
            else:
                item.problem = "matches no released assignment (by name or content)"

    chosen: dict[tuple[str, str], Found] = {}
    for item in found:
        if item.problem:
            continue
        key = (item.student, item.assignment)
        best = chosen.get(key)
        if best is None or (item.timestamp, item.resubmission) >= (best.timestamp, best.resubmission):
            if best is not None:
                best.problem = f"superseded by {item.path}"
            chosen[key] = item
        else:
            item.problem = f"superseded by {best.path}"

    collected = _load_manifest(course)
    for a in sorted({item.assignment for item in chosen.values()}):
        items = [item for item in chosen.values() if item.assignment == a]
        archive = course.path("downloaded", a, "archive")
        shutil.rmtree(archive, ignore_errors=True)
        recognised = {}
        for item in items:
            # zip_collect keeps the source's extension: give "x.ipynb のコピー" a proper one
            name = item.path if item.path.endswith(".ipynb") else item.path + ".ipynb"
            target = archive / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(staging / item.path, target)
            info = {"student_id": item.student, "file_id": f"{a}.ipynb"}
            if item.timestamp:
                info["timestamp"] = item.timestamp
            recognised[name] = info
        config = course.nbgrader_config()
        config.ZipCollectApp.collector_plugin = LmsCollectorPlugin
        config.ZipCollectApp.force = True
        config.ExtractorPlugin.force = True
        config.LmsCollectorPlugin.recognised = recognised
        config.ZipCollectApp.log_level = "ERROR"  # it logs every copy; our own summary follows
        app = ZipCollectApp(config=config)
        app.coursedir = CourseDirectory(parent=app)
        app.coursedir.assignment_id = a
        try:
            app.start()
        except SystemExit as exc:  # nbgrader's apps call sys.exit on errors
            raise CourseError("ce_zip_collect_failed", assignment=a, code=exc.code) from None
        for item in items:
            collected[f"{item.student}/{a}"] = {"lms_path": item.path, "filename": item.filename,
                                                "download": kept.name, "pattern": item.pattern, "how": item.how}
        log(f"collected {a}: {len(items)} submission(s)")

    unmatched = [item for item in found if item.problem and not item.problem.startswith("superseded")]
    superseded = [item for item in found if item.problem.startswith("superseded")]
    if unmatched:
        target = course.path("unmatched", stamp)
        for item in unmatched:
            (target / item.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(staging / item.path, target / item.path)
        log(f"{len(unmatched)} file(s) not collected (copied to {target}):")
        for item in unmatched:
            log(f"  {item.path}: {item.problem}")
    for item in superseded:
        log(f"  {item.path}: {item.problem}")
    shutil.rmtree(staging, ignore_errors=True)
    manifest = course.path(".autograde", "collected.json")
    manifest.write_text(json.dumps(collected, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    report = {"download": str(kept), "files": [asdict(item) for item in found]}
    course.path(".autograde", f"collect-{stamp}.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return report


def _load_manifest(course: Course) -> dict:
    path = course.path(".autograde", "collected.json")
    return json.loads(path.read_text()) if path.exists() else {}
