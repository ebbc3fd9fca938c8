"""The course's benchmarks (`make bench`). Each section is a module tools/bench_<name>.py whose
``run()`` returns a markdown table; add a section by adding such a module.

    python tools/bench.py                  # every section, in name order
    python tools/bench.py --only notebooks # one section (repeat --only for several)
    python tools/bench.py --list
    python tools/bench.py --readme         # also write the tables into README.md, .ja.md and .ko.md
"""
from __future__ import annotations

import argparse
import importlib
import re
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
ROOT = TOOLS.parent
READMES = ("README.md", "README.ja.md", "README.ko.md")


def write_readmes(tables: dict[str, str]) -> None:
    """Put each table after its ``<!-- bench:NAME -->`` marker (replacing the previous one, which
    ends at ``<!-- /bench:NAME -->``)."""
    for readme in READMES:
        path = ROOT / readme
        text = path.read_text(encoding="utf-8")
        for name, table in tables.items():
            block = f"<!-- bench:{name} -->\n{table.strip()}\n<!-- /bench:{name} -->"
            pattern = re.compile(rf"<!-- bench:{name} -->(?:.*?<!-- /bench:{name} -->)?", re.S)
            text = pattern.sub(lambda _, block=block: block, text, count=1)
        path.write_text(text, encoding="utf-8")


def sections() -> dict:
    """``{name: module name}`` for every tools/bench_<name>.py."""
    return {p.stem[len("bench_"):]: p.stem for p in sorted(TOOLS.glob("bench_*.py"))}


def main(argv: list | None = None) -> int:
    available = sections()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(available), metavar="NAME",
                        help=f"run only this section ({', '.join(available)})")
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    parser.add_argument("--readme", action="store_true", help="write the tables into the READMEs")
    args = parser.parse_args(argv)
    if args.list:
        for name, module in available.items():
            doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()
            print(f"{name}: {doc[0] if doc else ''}")
        return 0
    tables = {}
    for name in args.only or available:
        module = importlib.import_module(available[name])
        title = ((module.__doc__ or name).strip().splitlines() or [name])[0]
        print(f"## {name}\n\n{title}\n", flush=True)
        start = time.perf_counter()
        tables[name] = module.run()
        print(tables[name])
        print(f"\n({name}: {time.perf_counter() - start:.0f} s)\n", flush=True)
    if args.readme:
        write_readmes(tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
