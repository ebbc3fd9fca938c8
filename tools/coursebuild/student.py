"""The student form, made by nbgrader's own generate_assignment preprocessors.

generate_assignment also runs IncludeHeaderFooter (we add our own header), InstantiateTests (we write
tests by hand) and SaveCells (needs a gradebook; the instructor's `nbgrader generate_assignment`
fills it from solutions/). The order below is theirs otherwise.
"""
from __future__ import annotations

import copy

from nbformat import NotebookNode
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)


def student_form(source_nb: NotebookNode, code_stub: str) -> NotebookNode:
    """A copy of ``source_nb`` with solutions replaced by ``code_stub``, hidden tests removed,
    cells locked and checksums computed."""
    nb = copy.deepcopy(source_nb)
    resources: dict = {}
    pipeline = [
        LockCells(),
        ClearSolutions(code_stub={"python": code_stub}),
        ClearOutput(),
        CheckCellMetadata(),
        ComputeChecksums(),
        ClearHiddenTests(),
        ClearMarkScheme(),
        ComputeChecksums(),
        CheckCellMetadata(),
    ]
    for preprocessor in pipeline:
        nb, resources = preprocessor.preprocess(nb, resources)
    return nb
