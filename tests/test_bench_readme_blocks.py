"""tools/bench.py writes each benchmark's table into its one place in every README, and refuses, before
anything runs, when a README has no single place for it."""
import pytest

from _tools import load_tool

bench = load_tool("bench")

README = "intro\n<!-- bench:alpha -->\nold table\n<!-- /bench:alpha -->\nmiddle\n<!-- bench:beta -->\n<!-- /bench:beta -->\nend\n"


@pytest.fixture
def readmes(tmp_path, monkeypatch):
    for name in bench.READMES:
        (tmp_path / name).write_text(README, encoding="utf-8")
    monkeypatch.setattr(bench, "ROOT", tmp_path)
    return tmp_path


def test_blocks_are_read_by_name_and_stripped():
    assert bench.readme_blocks(README) == {"alpha": ["old table"], "beta": [""]}
    assert bench.strip_blocks(README) == "intro\n\nmiddle\n\nend\n"


def test_a_table_replaces_the_old_one_and_fills_an_empty_place(readmes):
    bench.write_readmes({"alpha": "| new |", "beta": "| first |"})
    for name in bench.READMES:
        text = (readmes / name).read_text(encoding="utf-8")
        assert bench.readme_blocks(text) == {"alpha": ["| new |"], "beta": ["| first |"]}
        assert text.startswith("intro\n") and "\nmiddle\n" in text and text.endswith("end\n")


@pytest.mark.parametrize("broken", ["<!-- bench:alpha -->\nno end marker\n",
                                    README + "<!-- bench:alpha -->\nagain\n<!-- /bench:alpha -->\n"],
                         ids=["unclosed", "twice"])
def test_a_readme_without_a_single_place_is_refused_and_nothing_is_written(readmes, broken):
    (readmes / "README.ko.md").write_text(broken, encoding="utf-8")
    with pytest.raises(SystemExit, match=r"README\.ko\.md: <!-- bench:alpha -->"):
        bench.write_readmes({"alpha": "| new |"})
    assert (readmes / "README.md").read_text(encoding="utf-8") == README


def test_the_command_refuses_before_running_a_benchmark(readmes, monkeypatch):
    monkeypatch.setattr(bench, "sections", lambda: {"gamma": "bench_does_not_exist"})
    with pytest.raises(SystemExit, match="gamma"):
        bench.main(["--readme"])
