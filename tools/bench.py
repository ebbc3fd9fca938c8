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


BLOCK = r"<!-- bench:(?P<name>{name}) -->\n?(?P<body>.*?)\n?<!-- /bench:(?P=name) -->"


def readme_blocks(text: str) -> dict[str, list[str]]:
    """Every ``<!-- bench:NAME -->…<!-- /bench:NAME -->`` block of a README: ``{NAME: [body, …]}``."""
    blocks: dict[str, list[str]] = {}
    for m in re.finditer(BLOCK.format(name=r"[\w-]+"), text, re.S):
        blocks.setdefault(m["name"], []).append(m["body"])
    return blocks


def strip_blocks(text: str) -> str:
    """The README without its benchmark tables."""
    return re.sub(BLOCK.format(name=r"[\w-]+"), "", text, flags=re.S)


def check_places(names) -> None:
    """Refuse, before anything runs, a section whose table has no single place in every README."""
    missing = [f"{readme}: <!-- bench:{name} --> … <!-- /bench:{name} -->" for readme in READMES
               for name in names
               if len(readme_blocks((ROOT / readme).read_text(encoding="utf-8")).get(name, ())) != 1]
    if missing:
        raise SystemExit("each table needs exactly one place in each README (nothing was written):\n  "
                         + "\n  ".join(missing))


def write_readmes(tables: dict[str, str]) -> None:
    """Put each table between its ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` markers,
    replacing the previous one."""
    check_places(tables)
    for readme in READMES:
        path = ROOT / readme
        text = path.read_text(encoding="utf-8")
        for name, table in tables.items():
            block = f"<!-- bench:{name} -->\n{table.strip()}\n<!-- /bench:{name} -->"
            text = re.sub(BLOCK.format(name=re.escape(name)), lambda _, block=block: block, text,
                          count=1, flags=re.S)
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
    if args.readme:
        check_places(args.only or available)
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
