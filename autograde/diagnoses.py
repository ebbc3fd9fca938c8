"""The diagnoses gradcoach gave in an autograded notebook, per test cell (for report.json and the
class report). The kernel publishes them as a private ``display_data`` (inside/autograde_diagnosis.py);
the feedback drops it (:func:`without_diagnoses`)."""
from __future__ import annotations

from nbgrader.utils import is_grade

from .inside.autograde_diagnosis import MIME


def read_diagnoses(nb) -> dict[str, list[str]]:
    """grade id → the diagnosis codes of its failed check, for every test cell that failed one."""
    found: dict[str, list[str]] = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_grade(cell):
            continue
        for output in cell.get("outputs", []):
            payload = output.get("data", {}).get(MIME) if output.get("output_type") == "display_data" else None
            if isinstance(payload, dict) and isinstance(payload.get("codes"), list):
                codes = found.setdefault(cell.metadata["nbgrader"]["grade_id"], [])
                codes += [c for c in payload["codes"] if isinstance(c, str) and c not in codes]
    return found


def without_diagnoses(outputs: list) -> list:
    """A cell's outputs without the grader's private diagnosis records."""
    return [o for o in outputs if MIME not in o.get("data", {})]
