"""`sqlrec serve` as a user starts it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from service_tables import similar_rows


def test_sqlrec_serve_answers_on_a_fresh_build(service_database, probes):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SQLREC_DUCKDB_PATH": str(service_database)}
    server = subprocess.Popen(
        [sys.executable, "-m", "sqlrec.cli", "serve", "--port", str(port),
         "--reload-interval", "0", "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                    health = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, "sqlrec serve did not answer"
                time.sleep(0.2)
        assert health["status"] == "ok"
        item_id = probes["items"][0]
        with urllib.request.urlopen(f"{base}/items/{item_id}/similar?k=3", timeout=5) as response:
            assert json.load(response)["items"] == similar_rows(service_database, item_id, 3)
    finally:
        server.terminate()
        server.wait(timeout=30)
