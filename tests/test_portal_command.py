"""``egnedata portal`` starts the pages with the local login and fictional citizens, as
the README promises."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.portal import csrf_of, start_login_at
from tests.servers import free_port

pytestmark = [pytest.mark.provider, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def test_the_portal_command_runs_with_test_logins(tmp_path: Path) -> None:
    port, provider_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EGNEDATA_")}
    env["XDG_CACHE_HOME"] = str(ROOT / ".test-cache")
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", "portal", "--port", str(port),
         "--provider-port", str(provider_port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        with httpx.Client(follow_redirects=False, timeout=30) as http:
            issuer = f"http://127.0.0.1:{provider_port}"
            answer = http.get(start_login_at(http, url, issuer, "/mine-data", "anna"))
            # Anna holds Bent's mandate: she is asked whom she acts for.
            assert answer.headers["location"].startswith("/handl-for")
            choose = http.get(url + answer.headers["location"])
            assert "Bent Testesen" in choose.text and csrf_of(choose.text)
            share = http.get(url + "/del")
            assert "Testarkivet" in share.text
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"Open {url}/" in output and "anna" in output and "uden-cpr" in output
