"""`make grade`'s progress (tqdm): a bar with the ETA on a terminal, plain lines in a log or CI."""
from __future__ import annotations

import io

import pytest

from autograde import grade


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch):
    """time.monotonic as grade.py sees it: 0 at the start, then whatever the test sets."""
    now = [0.0]
    monkeypatch.setattr(grade.time, "monotonic", lambda: now[0])
    return now


def test_a_log_gets_one_plain_line_per_submission_with_the_eta_and_no_carriage_return(clock):
    log = io.StringIO()
    bar = grade.Progress(3, stream=log, desc="grading")
    for seconds, label in ((10, "ann/01_scalar"), (20, "bob/01_scalar"), (30, "cem/01_scalar")):
        clock[0] = seconds
        bar.update(label)
    bar.close()
    text = log.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 3
    # one in 10 s, two left: elapsed 00:10, ETA 00:20
    assert "1/3 [00:10<00:20" in lines[0] and lines[0].endswith("ann/01_scalar]") and lines[0].startswith("grading")
    assert "2/3 [00:20<00:10" in lines[1] and "bob/01_scalar" in lines[1]
    assert "3/3 [00:30<00:00" in lines[2] and "100%" in lines[2]


def test_a_terminal_gets_tqdms_bar_redrawn_in_place(clock):
    term = Terminal()
    bar = grade.Progress(2, stream=term, desc="採点中")
    clock[0] = 5
    bar.update("ann/01_scalar")
    bar.update("bob/01_scalar")
    bar.close()
    text = term.getvalue()
    assert "\r" in text and text.count("\n") <= 1  # redrawn on one line, ended once
    last = text.rstrip("\n").rsplit("\r", 1)[-1]
    assert last.startswith("採点中") and "2/2 [" in last and "<" in last and "bob/01_scalar" in last  # ETA after "<"


@pytest.mark.parametrize("stream", [io.StringIO, Terminal])
def test_quiet_or_nothing_to_do_prints_nothing(stream):
    quiet, empty = stream(), stream()
    bar = grade.Progress(2, stream=quiet, enabled=False)
    bar.update("ann/01_scalar")
    bar.close()
    grade.Progress(0, stream=empty).close()
    assert quiet.getvalue() == "" and empty.getvalue() == ""
