"""The built widget's size: the loader (every page view) and everything (on intent).

Raw, gzip and brotli, as the build precompressed them (embed/dist, see embed/build.mjs),
against issue 14's goals (loader <= 2 KB gzipped, everything <= 8 KB) and the budgets the
build enforces (tests/test_embed_build.py fails past them).
Run: python bench/widget_size.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EMBED = Path(__file__).resolve().parent.parent / "embed"


def sizes(name: str) -> dict[str, int]:
    dist = EMBED / "dist"
    return {
        "raw": (dist / name).stat().st_size,
        "gzip": (dist / f"{name}.gz").stat().st_size,
        "brotli": (dist / f"{name}.br").stat().st_size,
    }


def verdict(value: int, limit: int) -> str:
    return "OK" if value <= limit else f"OVER by {value - limit} B"


def main() -> int:
    manifest = json.loads((EMBED / "build-manifest.json").read_text())
    loader, panel = sizes("embed.js"), sizes(manifest["panel"])
    total = {kind: loader[kind] + panel[kind] for kind in loader}
    for label, s in (("loader embed.js", loader), (manifest["panel"], panel), ("together", total)):
        print(f"{label:<24}: {s['raw']:6} B raw, {s['gzip']:5} B gzip, {s['brotli']:5} B brotli")
    goals, budgets = manifest["goals"], manifest["budgets"]
    ok = True
    for label, value, key in (
        ("loader gzip", loader["gzip"], "loader_gzip"),
        ("together gzip", total["gzip"], "total_gzip"),
    ):
        print(
            f"{label}: {value} B; goal {goals[key]} B: {verdict(value, goals[key])}; "
            f"budget {budgets[key]} B: {verdict(value, budgets[key])}"
        )
        ok = ok and value <= budgets[key]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
