"""``make report``: one HTML page per assignment telling the instructor what the class got wrong.

Scores come from the gradebook (what grades.csv exports), everything else from report.json:
the score histogram, each test's pass rate, the diagnoses gradcoach gave most often per test
(recorded per test cell by the grader: diagnoses.py) with links to example feedback pages, and the
submissions that need a look (flagged by the scanner, crashed, timed out, not gradable, missing).
Written to ``report/<assignment>.html`` in the course language, with the numbers it shows in
``report/<assignment>.json`` and the histogram in ``report/<assignment>_scores.png``.
"""
from __future__ import annotations

import html
import json
import re
import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .cluster import NOT_RUN, unscored
from .course import COURSE_ID, Course, CourseError
from .messages import t

EXAMPLES = 3  # feedback links per diagnosis
ATTENTION = {"crashed": "rp_crashed", "timeout": "rp_timeout", "failed": "rp_failed", "unreadable": "rp_failed",
             "wrong_notebook": "rp_failed", NOT_RUN: "rp_not_run", "missing": "rp_missing"}


@dataclass
class Exercise:
    test: str
    points: float
    passed: int = 0
    graded: int = 0
    diagnoses: list[dict] = field(default_factory=list)  # [{"code", "text", "students", "examples"}]

    @property
    def pass_rate(self) -> float:
        return self.passed / self.graded if self.graded else 0.0


@dataclass
class AssignmentReport:
    assignment: str
    max_score: float
    scores: dict[str, float]                  # student -> score, from the gradebook
    exercises: list[Exercise]
    attention: dict[str, list[str]]           # message key -> ["student (detail)"]
    histogram: list[list[float]] = field(default_factory=list)  # [[from, to, count], ...]

    def numbers(self) -> dict:
        data = asdict(self)
        for exercise, entry in zip(self.exercises, data["exercises"], strict=True):
            entry["pass_rate"] = round(exercise.pass_rate, 4)
        values = list(self.scores.values())
        data["mean"] = round(statistics.fmean(values), 4) if values else 0.0
        data["median"] = statistics.median(values) if values else 0.0
        return data


def _gradebook(course: Course, assignment: str) -> tuple[float, dict[str, float], dict[str, dict[str, tuple]]]:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, COURSE_ID) as gb:
        try:
            a = gb.find_assignment(assignment)
        except MissingEntry as exc:
            raise CourseError("ce_not_in_gradebook", assignment=assignment) from exc
        max_score = float(a.max_score)
        tests = {c.name: float(c.max_score) for nb in a.notebooks for c in nb.grade_cells}
        scores, cells = {}, {}
        for submission in a.submissions:
            scores[submission.student.id] = float(submission.score)
            cells[submission.student.id] = {g.name: (float(g.score), float(g.max_score))
                                            for nb in submission.notebooks for g in nb.grades}
    return max_score, scores, {"tests": tests, **cells}


def _histogram(scores: list[float], max_score: float) -> list[list[float]]:
    """One bin per point (at most 20 bins), the last one closed: [from, to, count]."""
    bins = max(1, min(20, int(round(max_score)) or 1))
    width = max_score / bins if max_score else 1.0
    counts = [0] * bins
    for score in scores:
        counts[min(bins - 1, int(score / width))] += 1
    return [[round(k * width, 4), round((k + 1) * width, 4), n] for k, n in enumerate(counts)]


def _message_text(code: str, lang: str) -> str:
    """The catalogue message of a diagnosis code, placeholders shown as '…', first sentence only."""
    from gradcoach.i18n import catalogue

    text = catalogue(lang).get(code) or catalogue("en").get(code) or code
    text = re.sub(r"\{[^{}]*\}", "…", text)
    # a sentence ends at 。！？, or at .!? before a space or the end, outside code marks and
    # brackets: the dot of `x.grad`, `.sum()` or torch.Tensor ends none
    depth, code = 0, False
    for i, ch in enumerate(text):
        if ch == "`":
            code = not code
        elif not code and ch in "(（[":
            depth += 1
        elif not code and ch in ")）]":
            depth = max(0, depth - 1)
        elif not code and not depth and (ch in "。！？" or ch in ".!?" and text[i + 1:i + 2] in ("", " ", "\n")):
            text = text[:i + 1]
            break
    return text.replace("`", "")[:160]


def build(course: Course, assignment: str, rows: list[dict]) -> AssignmentReport:
    lang = course.settings.lang
    max_score, scores, cells = _gradebook(course, assignment)
    tests = cells.pop("tests")
    mine = [r for r in rows if r["assignment"] == assignment]
    for student, _ in unscored(mine):  # a score still in the gradebook is an older submission's
        scores.pop(student, None)
        cells.pop(student, None)
    exercises = []
    for test in sorted(tests):
        ex = Exercise(test, tests[test])
        counts: Counter = Counter()
        examples: dict[str, list[str]] = {}
        for grades in cells.values():
            if test in grades:
                ex.graded += 1
                got, full = grades[test]
                ex.passed += got >= full
        for row in sorted(mine, key=lambda r: r["student"]):
            for code in (row.get("diagnoses") or {}).get(test, []):
                counts[code] += 1
                if row.get("feedback") and len(examples.setdefault(code, [])) < EXAMPLES:
                    examples[code].append(row["feedback"])
        ex.diagnoses = [{"code": code, "text": _message_text(code, lang), "students": n,
                         "examples": examples.get(code, [])}
                        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        exercises.append(ex)
    attention: dict[str, list[str]] = {}
    for row in sorted(mine, key=lambda r: r["student"]):
        if row.get("review"):
            attention.setdefault("rp_flagged", []).append(f"{row['student']} ({row['review']})")
        key = ATTENTION.get(row["status"])
        if key:
            detail = row.get("kernel") or row.get("timeouts") or row.get("problem") or ""
            attention.setdefault(key, []).append(f"{row['student']}" + (f" ({detail})" if detail else ""))
    report = AssignmentReport(assignment, max_score, dict(sorted(scores.items())), exercises, attention)
    report.histogram = _histogram(list(scores.values()), max_score)
    return report


def _plot(report: AssignmentReport, lang: str, target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gradcoach.plotting import use_cjk_font

    label_lang = lang if lang == "en" or use_cjk_font(lang) else "en"  # no CJK font: English labels
    fig, ax = plt.subplots(figsize=(6, 3), dpi=100)
    lefts = [b[0] for b in report.histogram]
    widths = [b[1] - b[0] for b in report.histogram]
    ax.bar(lefts, [b[2] for b in report.histogram], width=widths, align="edge", edgecolor="white", color="#3b6ea5")
    ax.set_xlabel(t("rp_axis_score", label_lang))
    ax.set_ylabel(t("rp_axis_students", label_lang))
    ax.set_title(t("rp_histogram", label_lang))
    ax.set_xlim(0, report.max_score or 1)
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(target, metadata={"Software": None})
    plt.close(fig)


def _fmt(value: float) -> str:
    return f"{value:g}"


def render(report: AssignmentReport, lang: str, image: str) -> str:
    e = html.escape
    numbers = report.numbers()
    parts = [f'<!DOCTYPE html>\n<html lang="{lang}">\n<head><meta charset="utf-8">'
             f"<title>{e(t('rp_title', lang, assignment=report.assignment))}</title>\n"
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
             ".n{text-align:right}.code{color:#666;font-size:.85em}</style></head>\n<body>",
             f"<h1>{e(t('rp_title', lang, assignment=report.assignment))}</h1>",
             f"<p id=\"summary\">{e(t('rp_summary', lang, graded=len(report.scores), mean=_fmt(round(numbers['mean'], 2)), max_score=_fmt(report.max_score), median=_fmt(numbers['median'])))}</p>",
             f"<h2>{e(t('rp_histogram', lang))}</h2>",
             f'<img src="{e(image)}" alt="{e(t("rp_histogram", lang))}" width="600" height="300">',
             f"<h2>{e(t('rp_exercises', lang))}</h2>",
             f"<table id=\"exercises\"><tr><th>{e(t('rp_exercise', lang))}</th><th>{e(t('rp_points', lang))}</th>"
             f"<th>{e(t('rp_passed', lang))}</th><th>{e(t('rp_pass_rate', lang))}</th></tr>"]
    for ex in report.exercises:
        parts.append(f'<tr data-test="{e(ex.test)}"><td>{e(ex.test)}</td><td class="n">{_fmt(ex.points)}</td>'
                     f'<td class="n">{ex.passed}/{ex.graded}</td><td class="n">{round(100 * ex.pass_rate)}%</td></tr>')
    parts.append("</table>")
    parts.append(f"<h2>{e(t('rp_diagnoses', lang))}</h2>")
    for ex in report.exercises:
        parts.append(f"<h3>{e(ex.test)}</h3>")
        if not ex.diagnoses:
            parts.append(f"<p>{e(t('rp_no_diagnoses', lang))}</p>")
            continue
        parts.append(f'<ul data-test="{e(ex.test)}">')
        for d in ex.diagnoses:
            links = ", ".join(f'<a href="../{e(link)}">{e(link.split("/")[1])}</a>' for link in d["examples"])
            parts.append(f'<li data-code="{e(d["code"])}"><b>{e(t("rp_students_n", lang, n=d["students"]))}</b>: '
                         f'{e(d["text"])} <span class="code">({e(d["code"])})</span>'
                         + (f" — {e(t('rp_examples', lang))}: {links}" if links else "") + "</li>")
        parts.append("</ul>")
    parts.append(f"<h2>{e(t('rp_attention', lang))}</h2>")
    if not report.attention:
        parts.append(f"<p>{e(t('rp_none', lang))}</p>")
    for key in ("rp_flagged", "rp_crashed", "rp_timeout", "rp_failed", "rp_not_run", "rp_missing"):
        if key in report.attention:
            items = "".join(f"<li>{e(item)}</li>" for item in report.attention[key])
            parts.append(f'<h3>{e(t(key, lang))} ({len(report.attention[key])})</h3><ul data-kind="{key[3:]}">'
                         f"{items}</ul>")
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def write_reports(course: Course, assignments: list[str] | None = None) -> list[Path]:
    """The class report of each assignment (default: all); returns the HTML pages."""
    path = course.path("report.json")
    if not path.exists():
        raise CourseError("ce_no_report", root=course.root)
    rows = json.loads(path.read_text(encoding="utf-8"))
    lang = course.settings.lang
    out = course.path("report")
    out.mkdir(exist_ok=True)
    pages = []
    for assignment in assignments or course.settings.assignments:
        report = build(course, assignment, rows)
        image = f"{assignment}_scores.png"
        _plot(report, lang, out / image)
        (out / f"{assignment}.json").write_text(json.dumps(report.numbers(), indent=1, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
        page = out / f"{assignment}.html"
        page.write_text(render(report, lang, image), encoding="utf-8")
        pages.append(page)
    return pages
