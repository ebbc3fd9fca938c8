"""The bundled sample class: synthetic students built from the released lessons, as an LMS zip.

``make grade`` on a fresh clone releases lessons 01 and 02, writes this class's download with
:func:`build_download`, collects it and grades it, so a newcomer sees the whole loop. Everything
is derived from the release (stubs) and the solutions (answers) by the rules in roster.yml; no
randomness, so the same lessons always give the same class.
"""
from __future__ import annotations

import ast
import copy
import io
import re
import zipfile
from pathlib import Path

import nbformat
import yaml

ROSTER = Path(__file__).with_name("roster.yml")
_SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION[ \t]*\n?", re.M | re.S)
_CHEAT = '''# "Making the tests pass" (the grader restores all of this before each test)
import torch
import gradcoach
gc.assert_grad = lambda *args, **kwargs: None
gradcoach.assert_grad = lambda *args, **kwargs: None
gc.answer = lambda fn, *args, **kwargs: fn(*args, **kwargs)
torch.allclose = lambda *args, **kwargs: True
'''


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def solution_code(source_cell) -> str:
    """The answer cell of the solutions notebook with the solution markers removed."""
    return _SOLUTION.sub(lambda m: m.group(1), source_cell.source)


def wrong_code(code: str) -> str:
    """The same answer with every gradient doubled (a plausible slip: a factor of 2 too many)."""
    tree = ast.parse(code)

    class Double(ast.NodeTransformer):
        done = False

        def visit_Call(self, node):
            self.generic_visit(node)
            func = node.func
            if not self.done and isinstance(func, ast.Attribute) and func.attr == "backward":
                func.value = ast.BinOp(ast.Constant(2), ast.Mult(), func.value)
                self.done = True
            elif (not self.done and isinstance(func, ast.Attribute) and func.attr == "grad" and node.args
                  and isinstance(func.value, ast.Attribute) and func.value.attr == "autograd"):
                node.args[0] = ast.BinOp(ast.Constant(2), ast.Mult(), node.args[0])
                self.done = True
            return node

    doubled = Double()
    tree = doubled.visit(tree)
    if not doubled.done:
        for node in ast.walk(tree):
            if isinstance(node, ast.Return) and node.value is not None:
                node.value = ast.BinOp(ast.Constant(2), ast.Mult(), node.value)
                break
    return ast.unparse(ast.fix_missing_locations(tree))


def error_code(code: str) -> str:
    """The answer preceded by the classic mistake: backward() on a vector output."""
    tree = ast.parse(code)
    mistake = ast.parse("(torch.tensor([1.0, 2.0], requires_grad=True) ** 2).backward()").body
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            start = 1 if node.body and isinstance(node.body[0], ast.Expr) and isinstance(
                getattr(node.body[0], "value", None), ast.Constant) else 0
            node.body[start:start] = mistake
            break
    return ast.unparse(ast.fix_missing_locations(tree))


def _answers(release_nb, source_nb, profile: str) -> dict[str, str]:
    solutions = {_meta(c).get("grade_id"): solution_code(c) for c in source_nb.cells if _meta(c).get("solution")}
    ids = [_meta(c).get("grade_id") for c in release_nb.cells if _meta(c).get("solution")]
    if profile in ("correct", "colab"):
        return {i: solutions[i] for i in ids}
    if profile == "partial":
        return {i: solutions[i] for i in ids[:(len(ids) + 1) // 2]}
    if profile in ("wrong", "cheat"):
        return {i: wrong_code(solutions[i]) for i in ids}
    if profile == "error":
        return {i: error_code(solutions[i]) for i in ids}
    return {}


def student_notebook(release_nb, source_nb, profile: str):
    nb = copy.deepcopy(release_nb)
    answers = _answers(release_nb, source_nb, profile)
    count = 0
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
        if cell.cell_type == "code":
            count += 1
            cell.execution_count = count
    if profile == "cheat":
        first_answer = next(i for i, c in enumerate(nb.cells) if _meta(c).get("solution"))
        nb.cells.insert(first_answer, nbformat.v4.new_code_cell(_CHEAT))
    if profile == "colab":
        _colab(nb)
    return nb


def _colab(nb) -> None:
    """What a round trip through Colab and a careless student does to a notebook."""
    answer = next(i for i, c in enumerate(nb.cells) if _meta(c).get("solution"))
    stub = copy.deepcopy(nb.cells[answer])
    stub.source = "# first try\n" + stub.source.replace("return", "return None  #", 1) if "return" in stub.source \
        else stub.source
    stub.execution_count = 1
    if "id" in stub:
        stub["id"] = "first-try"
    nb.cells.insert(answer, stub)
    test = next(i for i, c in enumerate(nb.cells) if _meta(c).get("grade") and not _meta(c).get("solution"))
    markdown = next((i for i in range(test - 1, -1, -1) if nb.cells[i].cell_type == "markdown"), None)
    if markdown is not None:  # a heading dragged below the test it introduced
        nb.cells.insert(test, nb.cells.pop(markdown))
    for k, cell in enumerate(nb.cells):
        cell.metadata = {"id": f"c{k:04d}x", "colab": {"base_uri": "https://localhost:8080/"}}
    nb.metadata = {"colab": {"provenance": [], "name": "notebook.ipynb"},
                   "kernelspec": {"name": "python3", "display_name": "Python 3"},
                   "language_info": {"name": "python"}}


def _lms_path(student: dict, filename: str, submission: int) -> str:
    style, sid, name = student["lms"], student["id"], student["name"]
    if style == "moodle":
        return f"{name}_{sid}_assignsubmission_file_/{filename}"
    if style == "moodle-flat":
        return f"{name}_{sid}_assignsubmission_file_{filename}"
    if style == "canvas":
        return f"{name}_{sid}_{700000 + int(sid[-4:]) * 10 + submission}_{filename}"
    return f"{sid}/{filename}"


def build_download(releases: dict, sources: dict, target: Path, roster: Path = ROSTER) -> Path:
    """Write the sample class's LMS zip; ``releases``/``sources``: lesson name → notebook (01, 02)."""
    spec = yaml.safe_load(roster.read_text(encoding="utf-8"))
    lessons = sorted(releases)[:2]
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for student in spec["students"]:
            for lesson, profiles in zip(lessons, student["lessons"], strict=True):
                for n, profile in enumerate(profiles.split("+")):
                    filename = f"{lesson}.ipynb"
                    if profile == "missing":
                        continue
                    if profile == "invalid":
                        data = nbformat.writes(releases[lesson]).encode()[:200]
                    elif profile == "other":
                        other = [x for x in lessons if x != lesson][0]
                        data = nbformat.writes(student_notebook(releases[other], sources[other], "correct")).encode()
                    else:
                        nb = student_notebook(releases[lesson], sources[lesson], profile)
                        data = nbformat.writes(nb).encode()
                        if profile == "colab":
                            filename = f"Copy of {lesson}.ipynb" if lesson == lessons[0] else f"{lesson}.ipynb のコピー"
                    if n:
                        stem = filename[:-6]
                        filename = f"{stem}-{n}.ipynb"
                    zf.writestr(_lms_path(student, filename, n), data)
        for extra in spec.get("extra_files", []):
            zf.writestr(extra, "not a notebook\n")
    target.write_bytes(buffer.getvalue())
    return target


def collect_sample(root: Path, lang: str, *, db_url: str | None = None, log=print):
    """A fresh course in ``root`` (emptied first) with lessons 01-02 released in ``lang`` from
    solutions/<lang>/ and this class's download collected, ready for ``grade``."""
    import shutil

    from ..collect import collect
    from ..course import REPO, Course, CourseError, lesson_sources, release

    source = REPO / "solutions" / lang
    lessons = {name: path for name, path in lesson_sources(source).items() if name[:2] in ("01", "02")}
    if len(lessons) < 2:
        raise CourseError("ce_sample_lessons", source=source)
    shutil.rmtree(root, ignore_errors=True)
    course = Course(root, db_url=db_url)
    release(course, source, lang, sorted(lessons), log=lambda *_: None)
    releases = {a: nbformat.read(course.release_notebook(a), as_version=4) for a in lessons}
    sources = {a: nbformat.read(course.source_notebook(a), as_version=4) for a in lessons}
    download = build_download(releases, sources, course.path("sample_download.zip"))
    shown = download.relative_to(REPO) if download.is_relative_to(REPO) else download
    log(f"sample class: {shown} (Moodle-, Canvas- and folder-style names)")
    collect(course, download, log=log)
    return course
