"""A bare Flask JSON endpoint: the baseline the submit endpoint is compared with."""

from __future__ import annotations

import json

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/json")
def echo():
    data = json.loads(request.get_data())
    return jsonify({"ok": True, "phone": data.get("phone")}), 202


@app.get("/json")
def document():
    """The page-view baseline (bench/page_view.py): a small JSON document, no work behind it."""
    return jsonify({"ok": True, "texts": {"button": "Перезвоните мне"}})
