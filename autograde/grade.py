"""``make grade``: repair, autograde in parallel, feedback, grades.csv and the grading report.

The main process repairs every submission (repair.py), then hands (student, assignment) jobs to
N worker processes. Each worker runs nbgrader's own Autograde and GenerateFeedback converters
(with :class:`~autograde.execute.SandboxedExecute` in place of Execute); gradebook sessions are
serialised across workers by dblock.py, so the gradebook sees one writer at a time and scores do
not depend on N. A submission whose worker fails is reported and the batch goes on. Finally the
main process exports grades.csv with nbgrader's CSV exporter and writes report.json/report.csv.

Re-running is idempotent: a submission whose files, release and grading settings are unchanged
keeps its grades and report row; ``students=[...]`` (``make grade STUDENT=...``) regrades those
students whatever their state. Grades set by hand in Formgrader survive both (manual.py).
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import dblock, manual
from .cluster import KILLED_WORKER, NOT_RUN, Cluster, make_job, merge_result, seed_gradebook, unscored
from .course import COURSE_ID, Course, CourseError
from .feedback import unreadable_page
from .messages import t
from .repair import read_notebook, repair
from .sandbox import require_sandbox
from .scan import scan_notebook

GRADER_VERSION = "1"  # bump when a change to the grader should regrade everything
REPORT_FIELDS = ["student", "assignment", "notebook", "status", "score", "max_score", "tests", "cells_run",
                 "timeouts", "kernel", "repairs", "problem", "review", "manual", "seconds", "feedback", "formgrader", "diagnoses"]


@dataclass
class Row:
    """One line of the grading report: one submitted notebook."""

    student: str
    assignment: str
    notebook: str
    status: str = "graded"        # graded | repaired | timeout | crashed | unreadable | wrong_notebook | missing | failed
    #                               | not_run (the cluster did not run it: no score, graded next time)
    score: float | None = None
    max_score: float | None = None
    tests: str = ""               # "ex1_test 1/1; ex2_test 0/2"
    cells_run: str = ""           # "12/14"
    timeouts: str = ""            # grade ids / cell numbers that timed out
    kernel: str = ""              # how the kernel ended if it did not finish ("exit 3", "SIGSEGV", "unresponsive")
    repairs: str = ""
    problem: str = ""
    review: str = ""              # static-scan flags (scan.py)
    manual: str = ""              # grades set in Formgrader, in effect (manual.py)
    seconds: float = 0.0
    feedback: str = ""
    formgrader: str = ""          # the submission's page in Formgrader (make lab)
    diagnoses: dict = field(default_factory=dict)  # test grade id -> gradcoach's diagnosis codes (diagnoses.py)


@dataclass
class Summary:
    grades_csv: Path
    feedback_dir: Path
    report_json: Path
    report_csv: Path
    rows: list[Row] = field(default_factory=list)
    graded: int = 0
    skipped: int = 0
    manual_kept: list[str] = field(default_factory=list)  # regraded "student/assignment" with manual grades


# -- planning (main process) ---------------------------------------------------------------------
def _fingerprint(course: Course, student: str, assignment: str) -> str:
    h = hashlib.sha256(GRADER_VERSION.encode())
    for path in sorted(course.path("submitted", student, assignment).rglob("*")):
        if path.is_file():
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    for path in (course.source_notebook(assignment), course.release_notebook(assignment)):
        h.update(path.read_bytes())
    s = course.settings
    h.update(json.dumps([s.lang, s.cell_timeout, s.sandbox, s.limits], sort_keys=True).encode())
    return h.hexdigest()


def _prepare(course: Course, student: str, assignment: str, releases: dict, collected: dict) -> tuple[dict, list[Row]]:
    """Repair the submission into repaired/; the worker job and the rows known before grading."""
    lang = course.settings.lang
    submitted = course.path("submitted", student, assignment)
    repaired = course.path("repaired", student, assignment)
    shutil.rmtree(repaired, ignore_errors=True)
    repaired.mkdir(parents=True)
    if (submitted / "timestamp.txt").exists():
        shutil.copy2(submitted / "timestamp.txt", repaired / "timestamp.txt")
    lms = collected.get(f"{student}/{assignment}", {})
    rows, notebooks = [], []
    release_nb = releases[assignment]
    others = {a: nb for a, nb in releases.items() if a != assignment}
    course_sources = {c.source.strip() for c in release_nb.cells}
    for name in [assignment]:  # one notebook per assignment (NN_slug/NN_slug.ipynb), as `release` makes them
        row = Row(student, assignment, name)
        rows.append(row)
        src = submitted / f"{name}.ipynb"
        notes = []
        original = lms.get("filename", "")
        if original and original != f"{name}.ipynb":
            notes.append(t("repair_filename", lang, name=original, expected=f"{name}.ipynb"))
            row.repairs = f"file name '{original}'"
        if not src.exists():
            row.status, row.problem = "missing", "no file submitted"
            notebooks.append({"name": name, "grade": False, "problem": ""})
            continue
        result = repair(src.read_bytes(), release_nb, lang, name, others)
        notes += result.notes
        row.repairs = "; ".join(filter(None, [row.repairs, *result.repairs]))
        if result.status != "ok":
            row.status, row.problem = result.status, result.problem
            notebooks.append({"name": name, "grade": False, "problem": result.problem})
            _write_notes(course, student, assignment, name, notes + [result.problem])
            continue
        nbformat.write(result.notebook, repaired / f"{name}.ipynb")
        row.review = "; ".join(scan_notebook(result.notebook, course_sources))
        if result.repairs:
            row.status = "repaired"
        _write_notes(course, student, assignment, name, notes)
        notebooks.append({"name": name, "grade": True, "problem": ""})
    job = {"student": student, "assignment": assignment, "notebooks": notebooks}
    return job, rows


def _write_notes(course: Course, student: str, assignment: str, notebook: str, notes: list[str]) -> None:
    path = course.path(".autograde", "notes", student, assignment, f"{notebook}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"notes": notes}, ensure_ascii=False, indent=1))


# -- grading helpers (run on the workers, cluster.py) ----------------------------------------------
def last_error(result: dict) -> str:
    text = (result.get("error") or result.get("log") or "").strip().splitlines()
    return text[-1][:500] if text else "unknown error"


def cells_run(course: Course, student: str, assignment: str, names: list[str]) -> dict:
    counts = {}
    for name in names:
        path = course.path("autograded", student, assignment, f"{name}.ipynb")
        if path.exists():
            nb = nbformat.read(path, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
            ran = [c for c in code if c.get("execution_count") is not None]
            counts[name] = f"{len(ran)}/{len(code)}"
    return counts


def _record_zero(course: Course, student: str, assignment: str) -> None:
    """Score 0 for a submission with nothing gradable, the way nbgrader scores a missing notebook."""
    from nbgrader.api import Gradebook

    shutil.rmtree(course.path("autograded", student, assignment), ignore_errors=True)
    with Gradebook(course.db_url, COURSE_ID) as gb:
        gb.update_or_create_student(student)
        timestamp = course.path("submitted", student, assignment, "timestamp.txt")
        kwargs = {"timestamp": timestamp.read_text().strip()} if timestamp.exists() else {}
        submission = gb.update_or_create_submission(assignment, student, **kwargs)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0  # a manual grade stays, as nbgrader's SaveAutoGrades leaves it
                grade.needs_manual_grade = grade.manual_score is not None
        gb.db.commit()


def _zero_feedback(course: Course, student: str, assignment: str, name: str, problem: str) -> None:
    lang = course.settings.lang
    target = course.path("feedback", student, assignment)
    if not course.path("autograded", student, assignment).exists():
        shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    lines = [line for line in (problem, t("score_zero", lang)) if line]
    (target / f"{name}.html").write_text(unreadable_page(lang, name, lines), encoding="utf-8")


# -- the batch -----------------------------------------------------------------------------------
class Progress:
    """tqdm's progress bar (done/total, elapsed, ETA, the last submission) on a terminal; elsewhere
    (CI, a log file) the same line printed once per submission, without carriage returns."""

    def __init__(self, total: int, stream=None, enabled: bool = True, desc: str = "grading"):
        from tqdm import tqdm

        self.stream = stream if stream is not None else sys.stderr
        self.total, self.done, self.desc = total, 0, desc
        self.enabled = enabled and total > 0
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.monotonic()
        self.bar = tqdm(total=total, desc=desc, unit="nb", file=self.stream, dynamic_ncols=True,
                        disable=not (self.enabled and self.tty))
        self.format_meter = tqdm.format_meter

    def update(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.tty:
            self.bar.set_postfix_str(label, refresh=False)
            self.bar.update(1)
            if self.done == self.total:
                self.bar.close()
            return
        line = self.format_meter(self.done, self.total, time.monotonic() - self.start, prefix=self.desc,
                                 postfix=label, unit="nb", ascii=True)
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.bar.close()


def _register_students(course: Course, students: list[str]) -> None:
    """In a fixed order, so that grades.csv's rows do not depend on the order jobs finish in."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, COURSE_ID) as gb:
        for student in students:
            gb.update_or_create_student(student)


def _zero_job(course: Course, job: dict, feedback: bool) -> None:
    _record_zero(course, job["student"], job["assignment"])
    for nb in job["notebooks"]:
        if feedback:
            _zero_feedback(course, job["student"], job["assignment"], nb["name"], nb["problem"])


def _run_remote(course: Course, jobs: list[dict], rows: dict, bar: "Progress", *, workers: int | None,
                scheduler: str | None, feedback: bool, log, kept: int) -> None:
    """Send the jobs to the Dask cluster; merge each result into the course as it comes back, once."""
    seeds = {a: seed_gradebook(course, a) for a in sorted({job["assignment"] for job in jobs})}
    payloads = [make_job(course, job["student"], job["assignment"], [nb["name"] for nb in job["notebooks"]
                                                                     if nb["grade"]], seeds[job["assignment"]],
                         feedback) for job in jobs]
    settings = course.settings
    warm = (asdict(course.limits), settings.lang) if settings.sandbox else None
    workers = max(1, min(workers or default_workers(), len(jobs)))
    merged: set[str] = set()

    def on_result(result: dict) -> None:
        key = f"{result['student']}/{result['assignment']}"
        if key in merged:
            return
        merged.add(key)
        try:
            if result.get("status") != NOT_RUN:  # nothing came back: what the course holds stays as it was
                merge_result(course, result)
        except Exception as exc:  # noqa: BLE001 - a result that cannot be stored is reported, the batch goes on
            result = {**result, "error": f"storing the grades failed: {type(exc).__name__}: {exc}"}
        for row in rows[key]:
            _apply_result(row, result)
        killed = result.get("kernel") == KILLED_WORKER
        if killed:  # scored 0 like an ungradable file, the student told why
            _record_zero(course, result["student"], result["assignment"])
        for nb in next(j for j in jobs if f"{j['student']}/{j['assignment']}" == key)["notebooks"]:
            if feedback and (killed or not nb["grade"]):
                problem = t("worker_killed", course.settings.lang) if nb["grade"] else nb["problem"]
                _zero_feedback(course, result["student"], result["assignment"], nb["name"], problem)
        bar.update(key)

    with Cluster(workers=workers, scheduler=scheduler, warm=warm) as cluster:
        lang = settings.lang
        start = t("grade_start_cluster", lang, n=len(jobs), scheduler=scheduler, workers=cluster.workers) \
            if scheduler else t("grade_start", lang, n=len(jobs), workers=workers)
        log(start + (t("grade_start_kept", lang, kept=kept) if kept else ""))
        cluster.run(payloads, on_result)


def _apply_result(row: Row, result: dict) -> None:
    from .execute import EventKind

    events = result["events"].get(row.notebook, [])
    row.seconds = result.get("seconds", 0.0)
    row.cells_run = result["cells_run"].get(row.notebook, "")
    row.diagnoses = result.get("diagnoses", {}).get(row.notebook, {})
    timeouts = [e for e in events if e.kind is EventKind.TIMEOUT]
    if timeouts:
        row.status = "timeout"
        row.timeouts = ", ".join(e.where for e in timeouts)
    for event in events:
        if event.kind is EventKind.DIED:
            row.status, row.kernel = "crashed", f"died in {event.where}: {event.detail}"
        elif event.kind is EventKind.UNRESPONSIVE:
            row.status, row.kernel = "crashed", "unresponsive after timeout: killed"
        elif event.kind is EventKind.START_FAILED:
            row.status, row.kernel = "failed", f"kernel did not start: {event.detail}"
        elif event.kind in (EventKind.TAMPERED, EventKind.OUTPUT_LOST, EventKind.OUTPUT_TRUNCATED):
            row.kernel = "; ".join(filter(None, [row.kernel, f"{event.kind.value} in cell {event.cell}"]))
    if result.get("status") == NOT_RUN:
        row.status, row.kernel, row.problem = NOT_RUN, result["kernel"], result["error"]
    elif result.get("kernel") == KILLED_WORKER:
        row.status, row.kernel, row.problem = "crashed", KILLED_WORKER, result["error"]
    elif result.get("error"):
        row.status, row.problem = "failed", result["error"]


def _fill_scores(course: Course, rows: list[Row], regraded_with_manual: set = frozenset()) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    blank = unscored(rows)
    with Gradebook(course.db_url, COURSE_ID) as gb:
        for row in rows:
            if (row.student, row.assignment) in blank:
                row.score, row.tests, row.feedback = None, "", ""
                with contextlib.suppress(MissingEntry):
                    row.max_score = float(gb.find_assignment(row.assignment).max_score)
                continue
            try:
                nb = gb.find_submission_notebook(row.notebook, row.assignment, row.student)
            except MissingEntry:
                try:
                    row.score, row.max_score = 0.0, float(gb.find_assignment(row.assignment).max_score)
                except MissingEntry:
                    pass
                continue
            row.score, row.max_score = float(nb.score), float(nb.max_score)
            row.tests = "; ".join(f"{g.name} {g.score:g}/{g.max_score:g}" for g in
                                  sorted(nb.grades, key=lambda g: g.name) if g.max_score)
            feedback = course.path("feedback", row.student, row.assignment, f"{row.notebook}.html")
            row.feedback = str(feedback.relative_to(course.root)) if feedback.exists() else ""
            manual.annotate(gb, nb, row, regraded_with_manual)


def default_workers() -> int:
    """One worker per core this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _unchanged(course: Course, previous: dict | None, fingerprint: str, feedback: bool) -> bool:
    """Graded before from the same files and settings (and its feedback is still there)?"""
    if not previous or previous["fingerprint"] != fingerprint:
        return False
    return not feedback or all(course.path(r["feedback"]).exists() for r in previous["rows"] if r["feedback"]) \
        and all(r["feedback"] for r in previous["rows"])


def export_grades(course: Course, not_run: set[tuple[str, str]] = frozenset()) -> Path:
    """nbgrader's CSV export of the whole gradebook; the (student, assignment) pairs in ``not_run``
    (``cluster.unscored``) have empty scores, not 0 or an older submission's."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    path = course.path("grades.csv")
    with Gradebook(course.db_url, COURSE_ID) as gb:
        CsvExportPlugin(to=str(path)).export(gb)
    if not_run:
        lines = path.read_text().splitlines(keepends=True)
        header = next(csv.reader(lines[:1]))
        blank = [header.index(k) for k in ("raw_score", "late_submission_penalty", "score")]
        for k, line in enumerate(lines[1:], start=1):
            row = next(csv.reader([line]))
            if (row[header.index("student_id")], row[header.index("assignment")]) in not_run:
                for i in blank:
                    row[i] = ""
                out = io.StringIO()
                csv.writer(out, lineterminator="\n").writerow(row)
                lines[k] = out.getvalue()
        path.write_text("".join(lines))
    return path


def write_report(course: Course, rows: list[Row]) -> tuple[Path, Path]:
    rows = sorted(rows, key=lambda r: (r.assignment, r.student, r.notebook))
    json_path, csv_path = course.path("report.json"), course.path("report.csv")
    json_path.write_text(json.dumps([asdict(r) for r in rows], indent=1, ensure_ascii=False) + "\n")
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=REPORT_FIELDS)
        writer.writeheader()
        writer.writerows({**asdict(r), "diagnoses": json.dumps(r.diagnoses, sort_keys=True) if r.diagnoses else ""}
                         for r in rows)
    return json_path, csv_path


def grade(course: Course, *, students: list[str] | None = None, assignments: list[str] | None = None,
          workers: int | None = None, scheduler: str | None = None, force: bool = False, progress: bool = True,
          feedback: bool = True, log=print) -> Summary:
    """Grade the course's submissions (see the module docstring); ``scheduler`` is the address of a
    Dask scheduler to send the jobs to, else an embedded cluster of ``workers`` processes runs them."""
    if not course.exists:
        raise CourseError("ce_no_course_grade", root=course.root)
    if course.settings.sandbox:
        require_sandbox()
    warnings.filterwarnings("ignore", module="nbgrader")  # SQLAlchemy's autoflush notices from nbgrader's api
    pairs = [(s, a) for s, a in course.submissions()
             if (not students or s in students) and (not assignments or a in assignments)]
    if students and not pairs:
        raise CourseError("ce_no_submissions", students=", ".join(students), path=course.root / "submitted")
    dblock.install(course.path(".autograde", "db.lock"))
    state_path = course.path(".autograde", "state.json")
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    collected_path = course.path(".autograde", "collected.json")
    collected = json.loads(collected_path.read_text()) if collected_path.exists() else {}
    releases = {}
    for a in course.settings.assignments:
        nb, _ = read_notebook(course.release_notebook(a).read_bytes(), course.settings.lang)
        releases[a] = nb

    jobs, rows, fingerprints, kept = [], {}, {}, []
    for student, assignment in pairs:
        key = f"{student}/{assignment}"
        fingerprints[key] = _fingerprint(course, student, assignment)
        previous = state.get(key)
        if not force and not students and _unchanged(course, previous, fingerprints[key], feedback):
            kept += [Row(**r) for r in previous["rows"]]
            continue
        job, job_rows = _prepare(course, student, assignment, releases, collected)
        jobs.append(job)
        rows[key] = job_rows

    _register_students(course, sorted({job["student"] for job in jobs}))
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, COURSE_ID) as gb:
        regraded_with_manual = manual.with_manual_grades(gb, [(j["student"], j["assignment"]) for j in jobs])
    bar = Progress(len(jobs), enabled=progress, desc=t("progress_grading", course.settings.lang))
    remote = [job for job in jobs if any(nb["grade"] for nb in job["notebooks"])]
    try:
        for job in jobs:  # nothing to run: scored 0 here, with a feedback page saying why
            if job not in remote:
                _zero_job(course, job, feedback)
                bar.update(f"{job['student']}/{job['assignment']}")
        if remote:
            _run_remote(course, remote, rows, bar, workers=workers, scheduler=scheduler, feedback=feedback,
                        log=log, kept=len(kept))
    finally:
        bar.close()
    fresh = [row for job_rows in rows.values() for row in job_rows]
    all_rows = kept + fresh
    submitted = set(course.submissions())
    if students or assignments:  # the report still covers everyone
        seen = {(r.student, r.assignment) for r in all_rows}
        all_rows += [Row(**r) for key, entry in state.items() for r in entry["rows"]
                     if (r["student"], r["assignment"]) not in seen and tuple(key.split("/", 1)) in submitted]
    missing = [Row(s, a, a, status="missing")  # the report's heading (rp_missing) says why
               for s in sorted({s for s, _ in submitted}) for a in course.settings.assignments
               if (s, a) not in submitted]
    all_rows += missing
    _fill_scores(course, all_rows, regraded_with_manual)  # kept rows too: Formgrader may have changed them
    for key, job_rows in rows.items():
        if unscored(job_rows):  # never "unchanged": the next run grades it
            state.pop(key, None)
        else:
            state[key] = {"fingerprint": fingerprints[key], "rows": [asdict(r) for r in job_rows]}
    state_path.write_text(json.dumps(state, indent=1, ensure_ascii=False))
    grades = export_grades(course, unscored(fresh))
    report_json, report_csv = write_report(course, all_rows)
    kept_manual = sorted(f"{r.student}/{r.notebook}" for r in fresh if r.manual.startswith(manual.KEPT))
    return Summary(grades, course.path("feedback"), report_json, report_csv, all_rows, len(jobs), len(kept),
                   kept_manual)
