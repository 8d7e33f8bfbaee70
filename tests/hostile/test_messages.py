"""Misleading messages (issue 17): each says what really happened and what to do.

A throttled first ``GET /metadata`` is retried (it was reported as a wrong base URL); a bad TLS
certificate is named as such with its reason (it was a bare "ConnectError", even with --debug).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from migrate.cli import cli
from migrate.errors import LoadError, TransientLoadError
from migrate.loaders.fhir_server import FhirServerLoader
from migrate.state import StateStore
from migrate.sync.loader import DeleteCircuitOpen, SyncLoader
from tests.conftest import TEST_NAMESPACE
from tests.harness.standin import CAPABILITY, LyingFront
from tests.test_pipeline import PATIENT_YAML, write

CAPABILITY_JSON = json.dumps(CAPABILITY).encode()


def metadata_answers(*statuses: int) -> tuple[list[str], httpx.MockTransport]:
    """A server answering ``GET /metadata`` with ``statuses`` (then 200); records the paths."""
    queue, seen = list(statuses), []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        status = queue.pop(0) if queue else 200
        if status != 200:
            return httpx.Response(status, headers={"Retry-After": "0"})
        return httpx.Response(200, content=CAPABILITY_JSON,
                              headers={"Content-Type": "application/fhir+json"})

    return seen, httpx.MockTransport(handler)


@pytest.mark.parametrize("status", [429, 503])
def test_a_throttled_first_metadata_is_retried(status: int) -> None:
    seen, transport = metadata_answers(status, status)
    loader = FhirServerLoader("http://ehr.test/fhir", client=httpx.Client(transport=transport),
                              max_wait=0.01)
    loader.open()  # no error: the third answer is the CapabilityStatement
    assert seen == ["/fhir/metadata"] * 3
    assert loader.summary.retries == 2


def test_a_metadata_throttled_past_the_budget_says_so_not_wrong_url() -> None:
    _seen, transport = metadata_answers(*[429] * 5)
    loader = FhirServerLoader("http://ehr.test/fhir", client=httpx.Client(transport=transport),
                              max_retries=2, max_wait=0.01)
    with pytest.raises(TransientLoadError) as err:
        loader.open()
    assert str(err.value) == ("http://ehr.test/fhir/metadata answered 429 after 3 attempts; "
                              "try again later (loading again is safe)")
    assert "base URL" not in str(err.value)


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by itself, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A FHIR-looking HTTPS server on 127.0.0.1 with a self-signed certificate."""
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), LyingFront)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_port}/fhir", cert
    finally:
        server.shutdown()
        server.server_close()


def test_a_self_signed_certificate_is_named_with_its_reason(
        https_server: tuple[str, Path]) -> None:
    url, _cert = https_server
    with pytest.raises(LoadError) as err:
        FhirServerLoader(url, max_retries=3).open()
    assert str(err.value) == (f"{url}: the server's TLS certificate could not be verified: "
                              "self-signed certificate; set ca_bundle in the target profile (a "
                              "PEM file of the CA that signed it) or fix the certificate")
    assert not isinstance(err.value, TransientLoadError)  # not retried: it will not heal
    assert isinstance(err.value.__cause__, httpx.ConnectError)  # what --debug shows


def test_ca_bundle_as_the_message_says_makes_it_work(https_server: tuple[str, Path]) -> None:
    url, cert = https_server
    FhirServerLoader(url, ca_bundle=str(cert)).open()


def test_the_cli_says_tls_and_debug_shows_the_ssl_cause(
        https_server: tuple[str, Path], tmp_path: Path) -> None:
    url, _cert = https_server
    write(tmp_path / "pack", {"patient.yaml": PATIENT_YAML})
    write(tmp_path / "src", {"people.csv": "pid,last,sex,dob\n1,Smithfield,F,1970-01-02\n"})
    args = ["run", "--mappings", str(tmp_path / "pack"), "--source", str(tmp_path / "src"),
            "--namespace", str(TEST_NAMESPACE), "--out", str(tmp_path / "out"), "--no-progress",
            "--target", url]
    plain = CliRunner().invoke(cli, args)
    assert plain.exit_code == 4, plain.output
    assert "the server's TLS certificate could not be verified: self-signed certificate" \
        in plain.stderr
    assert "ConnectError" not in plain.stderr
    debug = CliRunner().invoke(cli, ["--debug", *args])
    chain, exc = [], debug.exception
    while exc is not None and len(chain) < 10:
        chain.append(type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    assert chain[0] == "LoadError"
    assert "SSLCertVerificationError" in chain


def test_the_delete_circuit_breaker_names_the_real_flags(tmp_path: Path) -> None:
    """It told users to raise `sync.max_delete_share`, which no file accepts."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite'}")
    run = store.start_run("sync", "test")
    with store.engine.begin() as conn:
        for i in range(10):
            store.record_write(conn, "Patient", f"p{i}", "m", f"k{i}", "c", "1", "live", run)
    writer = cast(Any, SimpleNamespace(url="http://ehr.test/fhir"))
    loader = SyncLoader(store, run, writer)
    gone = [(r, "delete") for r in list(store.resources_of("m"))[:3]]
    with pytest.raises(DeleteCircuitOpen) as err:
        loader._circuit_breaker(gone)
    assert str(err.value) == (
        "this sync would delete or retire more than 2% of Patient: 3 of 10; nothing was "
        "deleted. Check the source export is complete, then re-run `emr-migrate sync` with "
        "--confirm-deletes (or a larger --max-delete-share than 0.02).")
    assert err.value.exit_code == 5
    for flag in ("--confirm-deletes", "--max-delete-share"):
        assert flag in [p.opts[0] for p in cli.commands["sync"].params if p.opts]
    SyncLoader(store, run, writer, max_delete_share=0.3)._circuit_breaker(gone)  # 30% > 3/10
    store.engine.dispose()
