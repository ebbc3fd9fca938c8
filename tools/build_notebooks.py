"""Build the course notebooks from lessons/NN_slug.md (`make notebooks`).

    python tools/build_notebooks.py             # write solutions/{en,ja,ko}/ and notebooks/{en,ja,ko}/
    python tools/build_notebooks.py --check     # build in memory, list stale files, exit 1 if any
    python tools/build_notebooks.py --lesson 01 # only lesson 01
    python tools/build_notebooks.py --out DIR   # write under DIR instead of the repository

Exit status: 0 done (or up to date), 1 stale files (--check), 2 a lesson or course.yml breaks a rule
(nothing is written then).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coursebuild import (
    DEFAULT_CONFIG,
    ROOT,
    ConfigError,
    LessonError,
    build,
    differences,
    find_lessons,
    load_config,
    write,
)


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="build in memory and report stale generated files (exit 1) instead of writing")
    parser.add_argument("--out", type=Path, default=ROOT, metavar="DIR",
                        help="write (or check) DIR/solutions/<lang>/ and DIR/notebooks/<lang>/ (default: the repository)")
    parser.add_argument("--lesson", metavar="NN", help="only the lesson with this number (or file stem)")
    parser.add_argument("--lessons-dir", type=Path, default=ROOT / "lessons", metavar="DIR",
                        help="where the NN_slug.md lessons are (default: lessons/)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, metavar="FILE",
                        help="course settings (default: lessons/course.yml)")
    args = parser.parse_args(argv)

    try:
        config = load_config(args.config)
        outputs = build(find_lessons(args.lessons_dir, args.lesson), config)
    except (ConfigError, LessonError) as exc:
        print(f"build_notebooks: refused, nothing was written:\n{exc}", file=sys.stderr)
        return 2
    prune = args.lesson is None
    if args.check:
        stale = differences(outputs, args.out, prune)
        for rel, why in stale:
            print(f"stale: {rel} ({why})")
        if stale:
            print(f"{len(stale)} generated notebook(s) are stale: run `make notebooks`", file=sys.stderr)
            return 1
        print(f"{len(outputs)} notebooks up to date")
        return 0
    changes = write(outputs, args.out, prune)
    for rel, why in changes:
        print(f"{'removed' if rel not in outputs else 'wrote'}: {rel} (was {why})")
    print(f"{len(outputs)} notebooks built, {len(changes)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
