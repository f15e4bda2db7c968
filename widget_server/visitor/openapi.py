"""OpenAPI 3.1 description of the public widget API (served at /api/v1/openapi.json).

The document is ``openapi.json`` next to this module, read once. Three things are
filled in here rather than written there: the version (the package's), the server
(the installation's public URL) and the status names (``statuses.Status``), so the
document cannot fall behind the code.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from ..statuses import Status
from ..version import __version__

DOCUMENT = Path(__file__).with_name("openapi.json")


@cache
def _document() -> dict[str, Any]:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    document["info"]["version"] = __version__
    status = document["components"]["schemas"]["Status"]["properties"]["status"]
    status["enum"] = [member.value for member in Status]
    return document


def spec(server_url: str) -> dict[str, Any]:
    """The document with this installation's URL as its server."""
    return {**_document(), "servers": [{"url": server_url}]}
