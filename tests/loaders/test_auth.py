"""Auth against a real token endpoint: sekmet-fhir's own (SMART Backend Services and client
secrets), with sekmet enforcing the tokens on every FHIR request.

A fault proxy (no faults) in front of sekmet records the Authorization headers, so the tests
check that the FHIR requests carry exactly the token the token endpoint issued.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from migrate.errors import ConfigError, LoadError
from migrate.loaders.fhir_server import FhirServerLoader
from tests.harness.faultproxy import FaultProxy
from tests.harness.sekmet import SekmetServer

pytestmark = pytest.mark.integration
STATIC = "static-bearer-7f3a9c"
SECRET = "client-secret-5b8e21d4"
PATIENTS = [{"resourceType": "Patient", "id": f"auth-{i}", "gender": "male"} for i in range(3)]


class AuthSekmet(SekmetServer):
    """sekmet with bearer and SMART auth on, and two registered backend clients."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        keys = workdir / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        self.keys: dict[str, Path] = {}
        clients = []
        for cid, key in (("emr-rs", rsa.generate_private_key(65537, 2048)),
                         ("emr-es", ec.generate_private_key(ec.SECP384R1()))):
            private, public = keys / f"{cid}.pem", keys / f"{cid}.pub.pem"
            private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                  serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
            public.write_bytes(key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
            self.keys[cid] = private
            clients.append({"client_id": cid, "public_key_path": str(public),
                            "client_secret": SECRET, "scopes": "system/*.*"})
        self.clients = clients

    def settings(self) -> dict[str, Any]:
        s = super().settings()
        s["server_auth"] = {"types": ["bearer", "smart"], "tokens": [STATIC],
                            "smart_clients": self.clients, "token_lifetime": 3600}
        return s

    @property
    def token_url(self) -> str:
        return self.base_url.removesuffix("/fhir") + "/auth/token"


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthSekmet]:
    with AuthSekmet(tmp_path_factory.mktemp("sekmet-auth")) as server:
        yield server


@pytest.fixture
def proxy(auth_server: AuthSekmet) -> Iterator[FaultProxy]:
    with FaultProxy(auth_server.base_url) as p:
        yield p


def load(url: str, auth: dict[str, Any] | None) -> FhirServerLoader:
    loader = FhirServerLoader(url, auth=auth, bundle_size=2, concurrency=2)
    loader.open()
    loader.load(PATIENTS)
    summary = loader.close()
    assert summary.written == {"Patient": 3}
    return loader


def load_all(loader: FhirServerLoader) -> None:
    loader.load(PATIENTS)
    loader.close()


def issued_by_sekmet(header: str, server: AuthSekmet, client_id: str) -> None:
    scheme, _, token = header.partition(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["client_id"] == client_id
    assert claims["iss"] == server.base_url.removesuffix("/fhir")


def test_without_credentials_the_server_refuses(auth_server: AuthSekmet) -> None:
    loader = FhirServerLoader(auth_server.base_url)
    loader.open()  # the CapabilityStatement is public
    with pytest.raises(LoadError, match="answered 401: the server refused our credentials"):
        load_all(loader)


def test_bearer_token_from_the_environment(auth_server: AuthSekmet, proxy: FaultProxy,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHR_TOKEN", STATIC)
    load(proxy.base_url, {"type": "bearer", "token_env": "EHR_TOKEN"})
    assert proxy.authorizations
    assert set(proxy.authorizations) == {f"Bearer {STATIC}"}


@pytest.mark.parametrize("method", ["basic", "post"])
def test_client_credentials(auth_server: AuthSekmet, proxy: FaultProxy, method: str,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHR_SECRET", SECRET)
    loader = load(proxy.base_url, {"type": "client-credentials", "method": method,
                                   "token_url": auth_server.token_url, "client_id": "emr-rs",
                                   "client_secret_env": "EHR_SECRET",
                                   "scope": "system/*.cruds"})
    assert loader.auth is not None
    assert loader.auth.fetches == 1
    assert len(set(proxy.authorizations)) == 1
    issued_by_sekmet(proxy.authorizations[0], auth_server, "emr-rs")


@pytest.mark.parametrize(("client_id", "alg"), [("emr-rs", "RS384"), ("emr-es", "ES384")])
def test_smart_backend_services(auth_server: AuthSekmet, proxy: FaultProxy, client_id: str,
                                alg: str) -> None:
    loader = load(proxy.base_url, {"type": "smart-backend", "client_id": client_id, "alg": alg,
                                   "key_file": str(auth_server.keys[client_id]), "kid": "k1",
                                   "token_url": auth_server.token_url})
    assert loader.auth is not None
    assert loader.auth.fetches == 1
    assert len(set(proxy.authorizations)) == 1
    issued_by_sekmet(proxy.authorizations[0], auth_server, client_id)


def test_smart_token_url_is_discovered(auth_server: AuthSekmet) -> None:
    load(auth_server.base_url, {"type": "smart-backend", "client_id": "emr-rs",
                                "key_file": str(auth_server.keys["emr-rs"])})


def test_a_token_the_server_no_longer_accepts_is_replaced_once(auth_server: AuthSekmet,
                                                               proxy: FaultProxy) -> None:
    auth = {"type": "smart-backend", "client_id": "emr-es", "alg": "ES384",
            "key_file": str(auth_server.keys["emr-es"]), "token_url": auth_server.token_url}
    loader = FhirServerLoader(proxy.base_url, auth=auth, bundle_size=10)
    loader.open()
    assert loader.auth is not None
    loader.auth._token.value = "revoked-or-expired"  # type: ignore[union-attr]
    loader.load(PATIENTS)
    assert loader.close().written == {"Patient": 3}
    assert loader.auth.fetches == 2
    assert proxy.authorizations[-2:-1] == ["Bearer revoked-or-expired"]
    issued_by_sekmet(proxy.authorizations[-1], auth_server, "emr-es")


def test_secrets_never_show(auth_server: AuthSekmet, monkeypatch: pytest.MonkeyPatch,
                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("EHR_SECRET", SECRET)
    good = {"type": "client-credentials", "token_url": auth_server.token_url,
            "client_id": "emr-rs", "client_secret_env": "EHR_SECRET"}
    loader = load(auth_server.base_url, good)
    token = loader.auth._token.value  # type: ignore[union-attr]
    monkeypatch.setenv("EHR_SECRET", "wrong-" + SECRET)
    bad = FhirServerLoader(auth_server.base_url, auth=good)
    with pytest.raises(LoadError, match="refused the request: invalid_client") as err:
        load_all(bad)
    shown = " ".join([str(err.value), repr(loader), repr(loader.auth), repr(bad),
                      repr(loader.cfg), caplog.text])
    for secret in (SECRET, token, STATIC):
        assert secret not in shown


def test_a_missing_secret_names_the_variable(auth_server: AuthSekmet) -> None:
    with pytest.raises(ConfigError, match="environment variable NOT_SET_ANYWHERE is not set"):
        FhirServerLoader(auth_server.base_url, auth={
            "type": "client-credentials", "token_url": auth_server.token_url,
            "client_id": "emr-rs", "client_secret_env": "NOT_SET_ANYWHERE"})


def test_tls_uses_the_ca_bundle(tmp_path: Path) -> None:
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emr-migrate test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    ca = tmp_path / "ca.pem"
    ca.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    loader = FhirServerLoader("https://ehr.test/fhir", ca_bundle=str(ca))
    ctx = loader.client._transport._pool._ssl_context  # type: ignore[attr-defined]
    assert ctx.verify_mode.name == "CERT_REQUIRED"
    assert [c["subject"] for c in ctx.get_ca_certs()] == [((("commonName",
                                                             "emr-migrate test CA"),),)]
    loader.client.close()
    assert isinstance(loader.client, httpx.Client)
