"""The course's benchmarks (`make bench`). Each section is a module tools/bench_<name>.py whose
``run()`` returns a markdown table; add a section by adding such a module.

    python tools/bench.py                  # every section, in name order
    python tools/bench.py --only notebooks # one section (repeat --only for several)
    python tools/bench.py --list
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))


def sections() -> dict:
    """``{name: module name}`` for every tools/bench_<name>.py."""
    return {p.stem[len("bench_"):]: p.stem for p in sorted(TOOLS.glob("bench_*.py"))}


def main(argv: list | None = None) -> int:
    available = sections()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(available), metavar="NAME",
                        help=f"run only this section ({', '.join(available)})")
    parser.add_argument("--list", action="store_true", help="list the sections and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, module in available.items():
            doc = (importlib.import_module(module).__doc__ or "").strip().splitlines()
            print(f"{name}: {doc[0] if doc else ''}")
        return 0
    for name in args.only or available:
        module = importlib.import_module(available[name])
        title = ((module.__doc__ or name).strip().splitlines() or [name])[0]
        print(f"## {name}\n\n{title}\n", flush=True)
        start = time.perf_counter()
        print(module.run())
        print(f"\n({name}: {time.perf_counter() - start:.0f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
