"""Authentication to a FHIR server: bearer token, OAuth2 client credentials, SMART Backend Services.

Each method is a ``type:`` under a target's ``auth:`` key. Secrets never live in the project
file: the file names the environment variable (or the key file) that holds them. Tokens are
fetched on first use, refreshed a minute before they expire and once more when the server
answers 401. No secret, token or client assertion appears in a log line, an error or a ``repr``.

::

    auth: {type: bearer, token_env: MIGRATE_FHIR_TOKEN}
    auth: {type: client-credentials, token_url: https://idp/token, client_id: emr-migrate,
           client_secret_env: MIGRATE_CLIENT_SECRET, scope: system/*.write}
    auth: {type: smart-backend, token_url: https://ehr/auth/token, client_id: emr-migrate,
           key_file: keys/private.pem, kid: key-1, alg: RS384, scope: system/*.cruds}
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from migrate.errors import ConfigError, LoadError

log = logging.getLogger("migrate.loaders.auth")
_STRICT = ConfigDict(extra="forbid", frozen=True)
REFRESH_SKEW = 60.0
"""Seconds before ``expires_in`` runs out at which a token is fetched anew."""
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class BearerAuthConfig(BaseModel):
    """A fixed bearer token read from an environment variable."""

    model_config = _STRICT
    type: Literal["bearer"]
    token_env: str = Field("MIGRATE_FHIR_TOKEN", description="Variable holding the token.")


class ClientCredentialsAuthConfig(BaseModel):
    """OAuth2 client credentials grant with a client secret."""

    model_config = _STRICT
    type: Literal["client-credentials"]
    token_url: str = Field(description="The authorization server's token endpoint.")
    client_id: str = Field(description="Client id registered at the authorization server.")
    client_secret_env: str = Field("MIGRATE_CLIENT_SECRET",
                                   description="Variable holding the client secret.")
    scope: str | None = Field(None, description="Scopes to ask for (space separated).")
    method: Literal["basic", "post"] = Field(
        "basic", description="Send the secret as HTTP Basic (client_secret_basic) or in the form.")


class SmartBackendAuthConfig(BaseModel):
    """SMART Backend Services: client credentials with a private-key JWT assertion."""

    model_config = _STRICT
    type: Literal["smart-backend"]
    client_id: str = Field(description="Client id registered at the EHR.")
    key_file: str = Field(description="PEM private key (RSA for RS384, P-384 for ES384).")
    alg: Literal["RS384", "ES384"] = Field("RS384", description="Signing algorithm.")
    kid: str | None = Field(None, description="Key id of the registered public key.")
    token_url: str | None = Field(
        None, description="Token endpoint; read from .well-known/smart-configuration if unset.")
    scope: str = Field("system/*.read system/*.write", description="Scopes to ask for.")


AuthConfig = Annotated[BearerAuthConfig | ClientCredentialsAuthConfig | SmartBackendAuthConfig,
                       Field(discriminator="type")]


def _env_secret(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigError(f"{what}: environment variable {name} is not set; export it before "
                          "running (secrets are never read from the project file)")
    return value


class _Token:
    """An access token and when to fetch a new one (monotonic clock)."""

    __slots__ = ("refresh_at", "value")

    def __init__(self, value: str, expires_in: float | None) -> None:
        self.value = value
        life = float(expires_in) if expires_in else 3600.0
        self.refresh_at = time.monotonic() + max(life - REFRESH_SKEW, life / 2)

    def __repr__(self) -> str:
        return "<token ***>"


class TargetAuth(httpx.Auth):
    """An ``httpx.Auth`` flow: adds the bearer token, refreshes it once on 401.

    Thread-safe: concurrent senders share one token; only one of them fetches a new one.
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(self, describe: str) -> None:
        self._describe = describe
        self._lock = threading.Lock()
        self._token: _Token | None = None
        self.fetches = 0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._describe}>"

    def fetch(self) -> _Token:
        """Get a new token. Override in subclasses."""
        raise NotImplementedError

    def token(self, stale: str | None = None) -> str:
        """The current token; a new one if it is near expiry or equals ``stale``."""
        with self._lock:
            tok = self._token
            if tok is None or tok.value == stale or time.monotonic() >= tok.refresh_at:
                tok = self._token = self.fetch()
                self.fetches += 1
            return tok.value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """httpx hook: send with the token; on 401 fetch a new token and send once more."""
        used = self.token()
        request.headers["Authorization"] = f"Bearer {used}"
        response = yield request
        if response.status_code == 401:
            log.info("401 from %s; fetching a new token and retrying once", self._describe)
            request.headers["Authorization"] = f"Bearer {self.token(stale=used)}"
            yield request


class BearerAuth(TargetAuth):
    """A static token from the environment (read again if the server answers 401)."""

    def __init__(self, cfg: BearerAuthConfig) -> None:
        super().__init__(f"bearer token from ${cfg.token_env}")
        self.cfg = cfg
        _env_secret(cfg.token_env, "auth bearer")  # fail early, before any data is read

    def fetch(self) -> _Token:
        """Read the variable."""
        return _Token(_env_secret(self.cfg.token_env, "auth bearer"), 10 * 365 * 86400)


class _OAuthAuth(TargetAuth):
    """Shared token-endpoint call for the two client-credentials flavours."""

    def __init__(self, describe: str, http: httpx.Client) -> None:
        super().__init__(describe)
        self.http = http

    def _request_token(self, url: str, data: dict[str, str],
                       basic: tuple[str, str] | None = None) -> _Token:
        try:
            resp = self.http.post(url, data=data,
                                  auth=basic or httpx.USE_CLIENT_DEFAULT,
                                  headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise LoadError(f"token endpoint {url} could not be reached: "
                            f"{type(exc).__name__}") from None
        body: dict[str, Any] = {}
        try:
            body = resp.json()
        except ValueError:
            pass
        if resp.status_code != 200 or not body.get("access_token"):
            err = body.get("error") or f"HTTP {resp.status_code}"
            desc = str(body.get("error_description") or "")[:200]
            raise LoadError(f"token endpoint {url} refused the request: {err}"
                            + (f" ({desc})" if desc else "")
                            + "; check the client id, secret or key, and the scope")
        return _Token(str(body["access_token"]), body.get("expires_in"))


class ClientCredentialsAuth(_OAuthAuth):
    """OAuth2 client credentials with a secret from the environment."""

    def __init__(self, cfg: ClientCredentialsAuthConfig, http: httpx.Client) -> None:
        super().__init__(f"client {cfg.client_id!r} at {cfg.token_url}", http)
        self.cfg = cfg
        _env_secret(cfg.client_secret_env, "auth client-credentials")

    def fetch(self) -> _Token:
        """Ask the token endpoint."""
        secret = _env_secret(self.cfg.client_secret_env, "auth client-credentials")
        data = {"grant_type": "client_credentials"}
        if self.cfg.scope:
            data["scope"] = self.cfg.scope
        if self.cfg.method == "post":
            data.update(client_id=self.cfg.client_id, client_secret=secret)
            return self._request_token(self.cfg.token_url, data)
        return self._request_token(self.cfg.token_url, data, (self.cfg.client_id, secret))


class SmartBackendAuth(_OAuthAuth):
    """SMART Backend Services: a signed JWT assertion (RS384/ES384) buys an access token."""

    def __init__(self, cfg: SmartBackendAuthConfig, http: httpx.Client, fhir_base: str) -> None:
        super().__init__(f"SMART client {cfg.client_id!r}", http)
        self.cfg, self.fhir_base = cfg, fhir_base
        self._key = _read_key(Path(cfg.key_file), cfg.alg)
        self._token_url = cfg.token_url

    def token_url(self) -> str:
        """The configured token endpoint, else the one the server's SMART configuration names."""
        if self._token_url is None:
            url = f"{self.fhir_base}/.well-known/smart-configuration"
            try:
                self._token_url = str(self.http.get(url).json()["token_endpoint"])
            except Exception:  # noqa: BLE001 - any failure means the same to the user
                raise LoadError(f"no token_url given and {url} does not name a token_endpoint; "
                                "set auth.token_url") from None
        return self._token_url

    def assertion(self, url: str) -> str:
        """A fresh client assertion: iss = sub = client id, aud = token URL, 4-minute life."""
        import jwt

        now = int(time.time())
        claims = {"iss": self.cfg.client_id, "sub": self.cfg.client_id, "aud": url,
                  "iat": now, "exp": now + 240, "jti": uuid.uuid4().hex}
        headers = {"kid": self.cfg.kid} if self.cfg.kid else None
        return jwt.encode(claims, self._key, algorithm=self.cfg.alg, headers=headers)

    def fetch(self) -> _Token:
        """Sign an assertion and ask the token endpoint."""
        url = self.token_url()
        return self._request_token(url, {
            "grant_type": "client_credentials", "scope": self.cfg.scope,
            "client_assertion_type": ASSERTION_TYPE, "client_assertion": self.assertion(url)})


def _read_key(path: Path, alg: str) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"auth.key_file {str(path)!r} is not a readable, unencrypted PEM "
                          f"private key ({type(exc).__name__})") from None
    want = rsa.RSAPrivateKey if alg == "RS384" else ec.EllipticCurvePrivateKey
    if not isinstance(key, want):
        raise ConfigError(f"auth.key_file {str(path)!r} does not hold a key for {alg} "
                          "(RS384 needs RSA, ES384 an EC P-384 key)")
    return key


def make_auth(cfg: BaseModel | None, http: httpx.Client, fhir_base: str) -> TargetAuth | None:
    """The auth flow for a target's ``auth`` settings (None: no Authorization header)."""
    if cfg is None:
        return None
    if isinstance(cfg, BearerAuthConfig):
        return BearerAuth(cfg)
    if isinstance(cfg, ClientCredentialsAuthConfig):
        return ClientCredentialsAuth(cfg, http)
    if isinstance(cfg, SmartBackendAuthConfig):
        return SmartBackendAuth(cfg, http, fhir_base)
    raise ConfigError(f"unknown auth settings {type(cfg).__name__}")
