"""Command line: ``python -m autograde release|collect|grade|sample|report|export|doctor`` (the Makefile's
``make release``, ``make collect`` and ``make grade`` call these). See autograde/README.md."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from gradcoach_languages import FALLBACK, LANGUAGES, english_name, listing
from gradcoach_languages import normalise as normalise_lang

from .cluster import KILLED_WORKER, NOT_RUN, NOT_RUN_REASONS
from .course import DEFAULT_RELEASE, DEFAULT_ROOT, REPO, SAMPLE_ROOT, Course, CourseError, lesson_sources, release
from .messages import t
from .sandbox import Limits, SandboxUnavailable, hints_for, probe, root_mode


def _course(args) -> Course:
    return Course(args.course or DEFAULT_ROOT, db_url=args.db_url)


def cmd_release(args) -> int:
    course = _course(args)
    if args.lang and not normalise_lang(args.lang):
        raise CourseError("ce_unknown_lang", lang=repr(args.lang), choices=listing())
    lang = normalise_lang(args.lang) or (course.settings.lang if course.exists else None)
    if lang is None:
        print(t("cli_release_no_lang", FALLBACK, choices="|".join(LANGUAGES), language=english_name(FALLBACK)))
        lang = FALLBACK
    source = Path(args.source) if args.source else REPO / "solutions" / lang
    if not course.exists and not args.course and args.release_dir is None:
        course.settings.release_dir = str(DEFAULT_RELEASE)
    if args.release_dir:
        course.settings.release_dir = str(Path(args.release_dir).resolve())
    names = release(course, source, lang, args.assignment or None)
    print(t("cli_released", lang, n=len(names), lang=lang, path=course.release_dir))
    return 0


def cmd_collect(args) -> int:
    from .collect import collect

    course = _course(args)
    report = collect(course, Path(args.path), args.assignment)
    collected = sum(1 for f in report["files"] if not f["problem"])
    print(t("cli_collected", course.settings.lang, n=collected, path=course.path("submitted"),
            download=report["download"]))
    return 0


def cmd_grade(args) -> int:
    from .grade import grade

    course = _course(args)
    if not args.course and not course.submissions() and not args.student:
        print(t("cli_grade_sample", course.settings.lang, course=course.root))
        return cmd_sample(args)
    _apply_options(course, args)
    students = [s for value in args.student or [] for s in value.split(",") if s]
    summary = grade(course, students=students or None, assignments=args.assignment or None,
                    workers=args.workers, scheduler=args.scheduler, force=args.force, progress=not args.quiet, feedback=args.feedback)
    _print_summary(course, summary)
    return 0


def _apply_options(course: Course, args) -> None:
    changed = False
    if args.unsafe_no_sandbox and course.settings.sandbox:
        course.settings.sandbox, changed = False, True
    if not args.unsafe_no_sandbox and not course.settings.sandbox:
        course.settings.sandbox, changed = True, True
    if args.timeout and args.timeout != course.settings.cell_timeout:
        course.settings.cell_timeout, changed = args.timeout, True
    if changed and course.exists:
        course.save()
    if not course.settings.sandbox:
        print(t("cli_unsafe", course.settings.lang), file=sys.stderr)


def _print_summary(course: Course, summary) -> None:
    by_status: dict[str, int] = {}
    for row in summary.rows:
        by_status[row.status] = by_status.get(row.status, 0) + 1
    lang = course.settings.lang
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))  # statuses are data: English
    print(t("cli_graded_kept", lang, n=summary.graded, kept=summary.skipped, statuses=statuses) if summary.skipped
          else t("cli_graded", lang, n=summary.graded, statuses=statuses))
    killers = [f"{r.student}/{r.notebook}" for r in summary.rows if r.kernel == KILLED_WORKER]
    if killers:
        print(t("cli_worker_killed", lang, n=len(killers), which=", ".join(killers)))
    for reason in NOT_RUN_REASONS:
        not_run = [f"{r.student}/{r.notebook}" for r in summary.rows if r.status == NOT_RUN and r.kernel == reason]
        if not_run:
            print(t("cli_not_run", lang, n=len(not_run), reason=t(f"nr_{reason}", lang), which=", ".join(not_run)))
    flagged = [r for r in summary.rows if r.review]
    if flagged:
        print(t("cli_flagged", lang, n=len(flagged), which=", ".join(f"{r.student}/{r.notebook}" for r in flagged)))
        print("  " + t("grade_review_formgrader", lang))
        for r in flagged:
            if r.formgrader:
                print(f"  {r.student}/{r.notebook}: <make lab URL>/{r.formgrader}")
    if summary.manual_kept:
        print(t("grade_manual_kept", lang, n=len(summary.manual_kept), which=", ".join(summary.manual_kept)))
    print(t("cli_grades", lang, path=summary.grades_csv))
    print(t("cli_feedback", lang, path=f"{summary.feedback_dir}/<student>/<assignment>/<notebook>.html"))
    print(t("cli_report", lang, path=summary.report_json, csv=summary.report_csv.name))


def cmd_sample(args) -> int:
    """Release lessons 01-02, build the sample class's LMS zip, collect it, grade it."""
    from .grade import grade
    from .sample_class import collect_sample

    lang = normalise_lang(getattr(args, "lang", None)) or FALLBACK
    root = Path(args.course) if args.course and args.command == "sample" else SAMPLE_ROOT
    source = REPO / "solutions" / lang
    lessons = {name: path for name, path in lesson_sources(source).items() if name[:2] in ("01", "02")}
    course = Course(root, db_url=args.db_url)
    if args.command == "grade" and len(lessons) == 2 and _sample_is_current(course, lang, lessons):
        # `make grade` again: grade what changed, keeping what the instructor did in Formgrader
        print(t("sample_kept", lang, course=root.relative_to(REPO) if root.is_relative_to(REPO) else root))
        _apply_options(course, args)
        summary = grade(course, workers=args.workers, scheduler=args.scheduler, force=args.force,
                        progress=not args.quiet, feedback=args.feedback)
        _print_summary(course, summary)
        return 0
    course = collect_sample(root, lang, db_url=args.db_url)
    _apply_options(course, args)
    summary = grade(course, workers=args.workers, scheduler=args.scheduler, force=True, progress=not args.quiet,
                    feedback=args.feedback)
    _print_summary(course, summary)
    return 0


def _sample_is_current(course: Course, lang: str, lessons: dict) -> bool:
    """Was the sample class in ``course`` built, collected and graded from these lessons?"""
    return (course.exists and course.settings.lang == lang and bool(course.submissions())
            and sorted(course.settings.assignments) == sorted(lessons)
            and course.path("report.json").exists()
            and all(course.source_notebook(a).exists() and course.source_notebook(a).read_bytes() == p.read_bytes()
                    for a, p in lessons.items()))


def _graded_course(args) -> Course:
    """The course asked for, else the graded sample class; a clear error when neither exists."""
    course = _course(args)
    if not course.exists and not args.course and Course(SAMPLE_ROOT).exists:
        course = Course(SAMPLE_ROOT, db_url=args.db_url)
    if not course.exists:
        raise CourseError("ce_no_course", root=course.root)
    return course


def cmd_report(args) -> int:
    from .report import write_reports

    course = _graded_course(args)
    for page in write_reports(course, args.assignment or None):
        print(t("cli_class_report", course.settings.lang, path=page))
    return 0


def cmd_export(args) -> int:
    from .export import export

    course = _graded_course(args)
    path = export(course, args.format, Path(args.output) if args.output else None)
    print(t("cli_exported", course.settings.lang, format=args.format, path=path))
    return 0


def cmd_doctor(args) -> int:
    """Can this machine grade? The sandbox (bwrap, no network), the limits a kernel gets, the course;
    every line in the language _error_lang picks."""
    from dataclasses import asdict

    lang = _error_lang(args)
    problem = probe()
    if problem:
        print(t("dr_sandbox_failed", lang, problem=problem))
    else:
        mode = t("dr_mode_root" if root_mode() else "dr_mode_userns", lang)
        print(t("dr_sandbox_ok", lang, bwrap=shutil.which("bwrap"), mode=mode))
    course_error = None
    try:
        course = _course(args)
    except CourseError as exc:
        course, course_error = None, exc
        print(t("dr_course_invalid", lang, error=exc.message(lang)))
    limits = course.limits if course is not None and course.exists else Limits()
    shown = ", ".join(f"{k}={v}" for k, v in asdict(limits).items())  # the names autograde.json uses
    if course is not None and course.exists:
        print(t("dr_limits_course", lang, path=course.settings_path, limits=shown))
        print(t("dr_course", lang, root=course.root, lang=course.settings.lang, n=len(course.settings.assignments)))
    else:
        print(t("dr_limits_default", lang, limits=shown))
        if course is not None:
            print(t("dr_no_course", lang, root=course.root))
    if not problem and course_error is None:
        print(t("dr_ready", lang))
        return 0
    print(t("dr_not_ready", lang))
    for hint in (hints_for(problem) if problem else ()):
        print("  " + t(hint, lang))
    if course_error is not None:
        print("  " + t("dr_fix_course", lang))
    return 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograde",
                                     description="Release, collect and grade the course (autograde/README.md).")
    parser.add_argument("--course", help=f"course directory (default {DEFAULT_ROOT.relative_to(REPO)})")
    parser.add_argument("--db-url", help="gradebook URL (default sqlite in the course; or $AUTOGRADE_DB_URL)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="register the assignments and build the student versions")
    p.add_argument("--lang", help=listing())
    p.add_argument("--source", help="solutions directory (default solutions/<lang>)")
    p.add_argument("--release-dir", help=f"where the student versions go (default {DEFAULT_RELEASE.relative_to(REPO)})")
    p.add_argument("--assignment", action="append", help="only this lesson (repeatable)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("collect", help="import an LMS download (zip or folder)")
    p.add_argument("path")
    p.add_argument("--assignment", help="every notebook in the download belongs to this assignment")
    p.set_defaults(func=cmd_collect)

    for name, func, text in (("grade", cmd_grade, "autograde, feedback, grades.csv, report"),
                             ("sample", cmd_sample, "build and grade the bundled sample class")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--student", action="append", help="regrade only these students (a,b or repeated)")
        p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
        p.add_argument("--workers", type=int, help="parallel workers (default: number of cores)")
        p.add_argument("--scheduler", help="grade on this Dask cluster (tcp://host:8786) instead of an embedded one")
        p.add_argument("--force", action="store_true", help="regrade unchanged submissions too")
        p.add_argument("--timeout", type=int, help="seconds per cell (default 120)")
        p.add_argument("--lang", help="sample class language")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--no-feedback", dest="feedback", action="store_false", help="skip the HTML feedback")
        p.add_argument("--unsafe-no-sandbox", action="store_true",
                       help="run student code WITHOUT bubblewrap (only for notebooks you trust)")
        p.set_defaults(func=func)

    p = sub.add_parser("report", help="the class report: one HTML page per assignment (report/)")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="the grades in an LMS's import format")
    p.add_argument("--format", default="csv", choices=("canvas", "moodle", "csv"),
                   help="canvas (gradebook CSV), moodle (grade import CSV), csv (per exercise)")
    p.add_argument("--output", help="file to write (default export-<format>.csv in the course)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("doctor", help="check that the sandbox works on this machine")
    p.add_argument("--lang", help=f"the language to answer in (default: the course's): {listing()}")
    p.set_defaults(func=cmd_doctor)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except SandboxUnavailable as exc:
        print(exc.message(_error_lang(args)), file=sys.stderr)
        return 3
    except CourseError as exc:
        print(f"error: {exc.message(_error_lang(args))}", file=sys.stderr)
        return 2


def _error_lang(args) -> str:
    """The language to explain an error (or doctor's findings) in: --lang when it names one, else the
    course's own (the ``lang`` its settings name, even if other settings are wrong), else English."""
    from .course import declared_lang

    given = normalise_lang(getattr(args, "lang", None) or "")
    if given:
        return given
    try:
        course = _course(args)
        return course.settings.lang if course.exists else FALLBACK
    except Exception:  # noqa: BLE001 - the error being reported may be the unreadable course itself
        return declared_lang(args.course or DEFAULT_ROOT) or FALLBACK


if __name__ == "__main__":
    sys.exit(main())
