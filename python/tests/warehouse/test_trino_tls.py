"""TLS to Trino is verified by default, on both paths that connect: dbt (the project turns on
dbt-trino's `require_certificate_validation`) and the Python steps (`sqlrec train`, `serve`).

A local HTTPS server with a self-signed certificate stands in for a cluster: with the shipped
profile both refuse it for its certificate; with the profile's documented `cert:` pointing at that
certificate (a private CA), TLS succeeds and the failure is the fake server's answer instead.
dbt is run as `dbt show`, as a build connects: `dbt debug` (dbt 1.11) does not apply the project's
behaviour flags, so its connection test does not verify certificates.
"""

from __future__ import annotations

import http.server
import os
import shutil
import ssl
import subprocess
import threading

import pytest

from sqlrec import warehouse

from helpers import PROJECT_DIR, free_port

# the Trino client's side (dbt-trino, the trino package) against a local HTTPS server
pytestmark = pytest.mark.trino


class NotTrino(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (the handler's protocol)
        self.send_response(418)
        self.end_headers()
        self.wfile.write(b"i am not trino")

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def https_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(certificate)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), NotTrino)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], certificate
    server.shutdown()


def profiles_with(folder, cert: str | None):
    """The shipped profile, plus `cert:` on the trino target when given (as the profile says)."""
    folder.mkdir()
    text = (PROJECT_DIR / "profiles" / "profiles.yml").read_text()
    if cert is not None:
        text = text.replace("    trino:\n      type: trino\n",
                            f"    trino:\n      type: trino\n      cert: {cert}\n")
        assert f"cert: {cert}" in text
    (folder / "profiles.yml").write_text(text)
    return folder


# requests lets these win over a connection's own `verify` (so over the profile's `cert:`)
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def trino_env(port: int, profiles) -> dict[str, str]:
    return {"DBT_PROFILES_DIR": str(profiles), "SQLREC_TARGET": "trino",
            "SQLREC_TRINO_HOST": "127.0.0.1", "SQLREC_TRINO_PORT": str(port),
            "SQLREC_TRINO_HTTP_SCHEME": "https", "SQLREC_TRINO_AUTH": "none"}


@pytest.mark.parametrize("trusted", [False, True], ids=["shipped profile", "cert: the CA"])
def test_dbt_verifies_the_clusters_certificate(https_server, tmp_path, trusted):
    port, certificate = https_server
    profiles = profiles_with(tmp_path / "profiles", str(certificate) if trusted else None)
    env = {name: value for name, value in os.environ.items() if name not in CA_BUNDLE_VARIABLES}
    env.update(trino_env(port, profiles))
    done = subprocess.run([shutil.which("dbt", path=str(PROJECT_DIR / ".venv" / "bin"))
                           or "dbt", "show", "--inline", "select 1", "--target", "trino",
                           "--project-dir", str(PROJECT_DIR)],
                          env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode != 0  # the server is not Trino either way
    if trusted:
        assert "CERTIFICATE_VERIFY_FAILED" not in output and "418" in output
    else:
        assert "CERTIFICATE_VERIFY_FAILED" in output


@pytest.mark.parametrize("trusted", [False, True], ids=["shipped profile", "cert: the CA"])
def test_the_python_steps_verify_the_clusters_certificate(https_server, tmp_path, monkeypatch,
                                                          trusted):
    port, certificate = https_server
    profiles = profiles_with(tmp_path / "profiles", str(certificate) if trusted else None)
    for name, value in trino_env(port, profiles).items():
        monkeypatch.setenv(name, value)
    for name in CA_BUNDLE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    store = warehouse.connect()
    with pytest.raises(Exception) as failure:  # noqa: PT011 (the failure differs by case)
        store.query("select 1")
    text = repr(failure.value) + str(failure.value.__cause__ or "")
    if trusted:
        assert "CERTIFICATE_VERIFY_FAILED" not in text and "418" in text
    else:
        assert "CERTIFICATE_VERIFY_FAILED" in text
