"""The course website (`make book`): build time cold (empty execution cache) and cached, and the site's size.

Both builds go to a temporary folder (build/ and its cache are left alone): the cold one executes
every page of the three books, the second one, with nothing changed, executes nothing.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOL = Path(__file__).resolve().parent / "build_book.py"


def _build(out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(TOOL), "--out", str(out)], check=True, capture_output=True)
    return time.perf_counter() - start


def _size(folder: Path, pattern: str = "*") -> tuple:
    files = [p for p in folder.glob(pattern) if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="bench-book-") as tmp:
        out = Path(tmp)
        cold = _build(out)
        cached = _build(out)
        site = out / "book"
        total, files = _size(site, "**/*")
        pages, page_count = _size(site, "*/[0-9][0-9]_*.html")
        images, image_count = _size(site, "*/_images/*")
    mib = 1024 * 1024
    return "\n".join([
        "| cold build | cached build | site | lesson pages | their images |",
        "|---:|---:|---:|---:|---:|",
        f"| {cold:.0f} s | {cached:.1f} s | {total / mib:.1f} MiB in {files} files | "
        f"{page_count} pages, {pages / mib:.1f} MiB | {image_count} files, {images / mib:.1f} MiB |",
    ])


if __name__ == "__main__":
    print(run())
