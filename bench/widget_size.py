"""Widget size, raw and gzipped (budget: 10 KB gzipped). Run: python bench/widget_size.py"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

BUDGET_GZIP = 10 * 1024
SCRIPT = Path(__file__).resolve().parent.parent / "embed" / "widget.js"


def main() -> int:
    raw = SCRIPT.read_bytes()
    packed = len(gzip.compress(raw, compresslevel=9))
    print(
        f"embed/widget.js: {len(raw)} bytes raw, {packed} bytes gzipped (-9); "
        f"budget {BUDGET_GZIP} gzipped: {'OK' if packed <= BUDGET_GZIP else 'OVER'}"
    )
    return 0 if packed <= BUDGET_GZIP else 1


if __name__ == "__main__":
    sys.exit(main())
