"""What the marked tests need of the machine, and a guard that keeps the markers honest.

A test that starts redis-server, nginx, php, mariadb, xgettext or Chromium without the
marker for it fails at once, so ``make check`` (which runs no marked test) never
needs them, and a machine without them skips exactly the tests that do.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

CHROMIUM = "/usr/bin/chromium"
REDIS_SERVER = "/usr/bin/redis-server"
SETUP_HINT = "make test sets it up (as root), or run: sudo .ci/setup.sh"


def _have_mariadb() -> bool:
    # The WordPress tests log in as MariaDB's root over the socket, as root may.
    if not shutil.which("mariadb"):
        return False
    done = subprocess.run(
        ["mariadb", "--user=root", "-N", "-e", "SELECT 1"], capture_output=True, timeout=30
    )
    return done.returncode == 0


def _have_postgres() -> bool:
    return bool(os.environ.get("POSTGRES_TEST_SERVER") or os.environ.get("TEST_DATABASE_URL"))


def _have_loop_disk() -> bool:
    # Mounting a file system kept in a file, as the power-cut drill does, takes root.
    return (
        os.geteuid() == 0
        and os.path.exists("/dev/loop-control")
        and bool(shutil.which("mkfs.ext4") and shutil.which("mount"))
    )


# What each marker needs, and how to tell it is there.
NEEDS = {
    "browser": ("Chromium at /usr/bin/chromium", lambda: os.path.exists(CHROMIUM)),
    "redis": ("redis-server at /usr/bin/redis-server", lambda: os.path.exists(REDIS_SERVER)),
    "nginx": ("nginx", lambda: bool(shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"))),
    "postgres": ("a PostgreSQL server named by POSTGRES_TEST_SERVER", _have_postgres),
    "php": ("php", lambda: bool(shutil.which("php"))),
    "wordpress": (
        "WordPress in /usr/share/wordpress",
        lambda: os.path.exists("/usr/share/wordpress/wp-settings.php"),
    ),
    "mariadb": ("a running MariaDB that lets root in over its socket", _have_mariadb),
    "gettext": ("xgettext (gettext)", lambda: bool(shutil.which("xgettext"))),
    "openssl": ("the openssl command", lambda: bool(shutil.which("openssl"))),
    "loop_disk": ("root, loop devices and mkfs.ext4 (to mount a file system)", _have_loop_disk),
}


@functools.cache
def missing(marker: str) -> str | None:
    """What the marker needs when this machine lacks it, else None."""
    what, present = NEEDS[marker]
    return None if present() else what


# Binaries that only a test carrying the marker may start.
MARKER_OF_BINARY = {
    "redis-server": "redis",
    "nginx": "nginx",
    "php": "php",
    "mariadb": "mariadb",
    "mysql": "mariadb",
    "mariadb-admin": "mariadb",
    "xgettext": "gettext",
    "openssl": "openssl",
    "chromium": "browser",
    "psql": "postgres",
    "mount": "loop_disk",
    "mkfs.ext4": "loop_disk",
}


class PopenGuard:
    """Refuses, in the running test, to start a marked binary the test is not marked for."""

    def __init__(self):
        self.item = None
        self._real_init = subprocess.Popen.__init__

    def install(self) -> None:
        guard = self

        def checked_init(popen, args, *rest, **kwargs):
            guard.check(args)
            guard._real_init(popen, args, *rest, **kwargs)

        subprocess.Popen.__init__ = checked_init

    def check(self, args) -> None:
        if self.item is None:
            return
        first = args if isinstance(args, (str, bytes, os.PathLike)) else next(iter(args), "")
        name = os.path.basename(os.fsdecode(first).split(" ")[0])
        marker = MARKER_OF_BINARY.get(name)
        if marker and self.item.get_closest_marker(marker) is None:
            raise AssertionError(
                f"{self.item.nodeid} starts {name} but is not marked "
                f"@pytest.mark.{marker}: mark it so that machines without {name} skip it"
            )
