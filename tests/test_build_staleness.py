"""The committed notebooks/ and solutions/ are exactly what `make notebooks` builds from lessons/:
none missing, none out of date, none left over from a removed lesson."""
from __future__ import annotations

import coursebuild

from _build import LESSONS, ROOT


def test_committed_notebooks_match_a_fresh_build_byte_for_byte():
    outputs = coursebuild.build(coursebuild.find_lessons(LESSONS), coursebuild.load_config())
    stale = coursebuild.differences(outputs, ROOT, prune=True)
    assert not stale, "run `make notebooks` and commit the result; stale: " + ", ".join(
        f"{rel} ({why})" for rel, why in stale)

