"""Build the CMS plugins' installable archives into dist/plugins/ (``make plugins``).

- WordPress: ``callback-widget-<version>.zip`` with the plugin folder at the root of the zip.
- 1C-Bitrix: ``widgetserver.callback-<version>.tar.gz`` with the module folder at the root,
  to unpack into ``/local/modules/``.
- OpenCart 4: ``callback_widget.ocmod.zip`` with ``install.json``, ``admin/`` and ``catalog/`` at
  the root, as OpenCart 4's extension installer expects (the file name is the extension code).

Archives are reproducible: sorted entries, fixed timestamps and modes. Test folders stay out.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import tarfile
import zipfile
from pathlib import Path

EMBED = Path(__file__).resolve().parent
ROOT = EMBED.parent
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
FIXED_EPOCH = 1577836800
SKIP_DIRS = {"tests", "__pycache__"}
SKIP_NAMES = {".DS_Store"}


def _files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name not in SKIP_NAMES
        and not SKIP_DIRS.intersection(p.relative_to(folder).parts[:-1])
    )


def _zip(target: Path, folder: Path, prefix: str) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(folder):
            name = prefix + path.relative_to(folder).as_posix()
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return target


def _tar_gz(target: Path, folder: Path, prefix: str) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in _files(folder):
            data = path.read_bytes()
            info = tarfile.TarInfo(prefix + path.relative_to(folder).as_posix())
            info.size, info.mtime, info.mode = len(data), FIXED_EPOCH, 0o644
            archive.addfile(info, io.BytesIO(data))
    target.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return target


def plugin_version() -> str:
    """The WordPress plugin's version (all three plugins share it)."""
    header = (EMBED / "wordpress/callback-widget/callback-widget.php").read_text("utf-8")
    return re.search(r"^\s*\*\s*Version:\s*(\S+)", header, re.M).group(1)


def build(out: Path | None = None) -> dict[str, Path]:
    """Build every archive; return them by CMS."""
    out = out or ROOT / "dist" / "plugins"
    out.mkdir(parents=True, exist_ok=True)
    version = plugin_version()
    return {
        "wordpress": _zip(
            out / f"callback-widget-{version}.zip",
            EMBED / "wordpress/callback-widget",
            "callback-widget/",
        ),
        "bitrix": _tar_gz(
            out / f"widgetserver.callback-{version}.tar.gz",
            EMBED / "bitrix/widgetserver.callback",
            "widgetserver.callback/",
        ),
        "opencart": _zip(out / "callback_widget.ocmod.zip", EMBED / "opencart/callback_widget", ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="output folder (default: dist/plugins)")
    args = parser.parse_args()
    for cms, path in build(args.out).items():
        print(
            f"{cms:10} {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}"
        )


if __name__ == "__main__":
    main()
