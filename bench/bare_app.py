"""A bare Flask JSON endpoint: the baseline the submit endpoint is compared with."""

from __future__ import annotations

import json

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/json")
def echo():
    data = json.loads(request.get_data())
    return jsonify({"ok": True, "phone": data.get("phone")}), 202
