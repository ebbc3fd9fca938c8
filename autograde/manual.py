"""What the instructor does in Formgrader, carried through `make grade`.

An instructor overrides a score in Formgrader (a *manual grade* or *extra credit* on a grade
cell); nbgrader stores it next to the autograded score and ``Grade.score`` prefers it. Regrading
never clears it (nbgrader's SaveAutoGrades only writes ``auto_score`` and marks the cell as
needing manual review again), so the report only has to say what is in effect: column
``manual``, prefixed ``kept after regrading:`` for a submission that was regraded with manual
grades on it. Notebooks the scan flags for review (report column ``review``) are flagged in the
gradebook, which Formgrader shows as a flag; column ``formgrader`` is the submission's page.
"""
from __future__ import annotations

KEPT = "kept after regrading: "


def describe(notebook) -> str:
    """The manual part of a graded notebook, e.g. ``ex2_test 1/2 (autograded 0); ex1_test +0.5 extra``."""
    parts = []
    for g in sorted(notebook.grades, key=lambda g: g.name):
        if g.manual_score is not None:
            auto = "none" if g.auto_score is None else f"{g.auto_score:g}"
            parts.append(f"{g.name} {g.manual_score:g}/{g.max_score:g} (autograded {auto})")
        if g.extra_credit:
            parts.append(f"{g.name} {g.extra_credit:+g} extra credit")
    return "; ".join(parts)


def has_manual(notebook) -> bool:
    return any(g.manual_score is not None or g.extra_credit for g in notebook.grades)


def with_manual_grades(gb, pairs) -> set[tuple[str, str]]:
    """Of these (student, assignment) pairs, those whose gradebook entry has manual grades."""
    from nbgrader.api import MissingEntry

    found = set()
    for student, assignment in pairs:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            continue
        if any(has_manual(nb) for nb in submission.notebooks):
            found.add((student, assignment))
    return found


def formgrader_path(notebook) -> str:
    """Where Formgrader shows this submitted notebook (relative to the server: ``/<path>``)."""
    return f"formgrader/submissions/{notebook.id}/"


def annotate(gb, notebook, row, regraded_with_manual: set) -> None:
    """Fill the report row's ``manual`` and ``formgrader`` columns; flag it if the scan did."""
    row.manual = describe(notebook)
    if row.manual and (row.student, row.assignment) in regraded_with_manual:
        row.manual = KEPT + row.manual
    row.formgrader = formgrader_path(notebook)
    if row.review and not notebook.flagged:  # an instructor's own flag is never taken away
        notebook.flagged = True
        gb.db.commit()
