"""Through a real nginx terminating TLS in front of the app (H6, A5): signatures still verify
over the exact bytes, and the client address is the one nginx saw, not one the client wrote."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
import requests
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import CallbackRequest, CallEvent
from widget_server.pbx.signing import encode_body, signed_headers

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, build_stack
from .test_dispatch_durability import _free_port

pytestmark = [pytest.mark.nginx, pytest.mark.openssl]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONFIG = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {dir}/cert.pem;
    ssl_certificate_key {dir}/key.pem;
    location / {{
      proxy_pass {upstream};
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""


@pytest.fixture
def chain(tmp_path):
    assert os.path.exists(NGINX), "nginx is needed for this test: apt-get install nginx-light"
    stack, stop = build_stack(tmp_path, app_overrides={"TRUSTED_PROXIES": 1})
    conf_dir = tmp_path / "nginx"
    conf_dir.mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(conf_dir / "key.pem"),
            "-out",
            str(conf_dir / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    (conf_dir / "nginx.conf").write_text(
        CONFIG.format(dir=conf_dir, port=port, upstream=stack.service_url)
    )
    nginx = subprocess.Popen(
        [NGINX, "-c", str(conf_dir / "nginx.conf"), "-p", str(conf_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"https://127.0.0.1:{port}"
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins
    session.verify = str(conf_dir / "cert.pem")
    deadline = time.monotonic() + 10
    while True:
        try:
            session.get(f"{url}/", timeout=1)
            break
        except requests.RequestException:
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
    yield stack, url, session
    nginx.terminate()
    nginx.wait(timeout=10)
    stop()


def test_a_signed_webhook_through_nginx_still_verifies_and_a_tampered_one_does_not(chain):
    stack, url, session = chain
    handle = stack.submit("+7 916 400-00-01").json()["handle"]
    stack.wait_final(handle)
    with stack.app.app_context():
        before = db.session.query(CallEvent).count()
    payload = {
        "session_id": "not-ours-1",
        "state": "new",
        "type": "incoming",
        "timestamp": "2026-11-27 10:00:00.000",
        "from_number": "79160000000",
    }
    body = encode_body(payload)
    hook = f"{url}/pbx/{stack.account_public_id}/call_events"
    good = session.post(hook, data=body, headers=signed_headers(SIM_CLIENT_ID, body, SIM_SIGN_KEY))
    assert good.status_code == 200 and good.json()["result"] == "0"
    tampered = session.post(
        hook,
        data=body.replace(b"10:00", b"10:01"),
        headers=signed_headers(SIM_CLIENT_ID, body, SIM_SIGN_KEY),
    )
    assert tampered.status_code == 403
    with stack.app.app_context():
        assert db.session.query(CallEvent).count() == before


def test_through_nginx_the_client_address_is_the_one_nginx_saw(chain):
    stack, url, session = chain
    config = session.get(
        f"{url}/api/v1/widgets/{stack.widget_key}/config", headers={"Origin": stack.shop_url}
    )
    assert config.status_code == 200
    response = session.post(
        f"{url}/api/v1/widgets/{stack.widget_key}/requests",
        json={"phone": "+7 916 400-00-02", "consent": True, "group": "101"},
        headers={"Origin": stack.shop_url, "X-Forwarded-For": "198.51.100.66"},
    )
    assert response.status_code == 202
    with stack.app.app_context():
        ip = db.session.scalar(
            select(CallbackRequest.client_ip).where(CallbackRequest.phone == "+79164000002")
        )
    assert ip == "127.0.0.1"  # nginx appended the real peer; the forged entry was ignored
