"""Secrets out of every URL we print or store.

A database or server URL may carry a credential in its user part (``user:secret@host``) or in
its query (``?password=...``, ``?access_token=...``: pymysql and libpq accept both). Every
place that prints or stores a URL goes through :func:`redact_url`.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

MASK = "***"
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|auth|credential|sig|session|cookie", re.I)


def is_secret_name(name: str) -> bool:
    """True for a parameter or setting name that usually holds a credential."""
    return bool(_SECRET_NAME.search(name))


def redact_url(url: str) -> str:
    """``url`` with the password of its user part and every query parameter named like a
    credential replaced by ``***``; a URL that cannot be parsed becomes ``<url>``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            name, colon, _password = user.partition(":")
            netloc = f"{name}:{MASK}@{host}" if colon else f"{user}@{host}"
        query = "&".join(
            f"{quote(k, safe='')}={MASK if is_secret_name(k) else quote(v, safe='/:,')}"
            for k, v in parse_qsl(parts.query, keep_blank_values=True))
        if parts.query and not query:  # not key=value pairs: keep nothing of it
            query = MASK
        slashes = "//" if url[len(parts.scheme) + 1:].startswith("//") else ""
        head = f"{parts.scheme}:{slashes}" if parts.scheme else slashes
        return f"{head}{netloc}{parts.path}" + (f"?{query}" if query else "")
    except ValueError:
        return "<url>"


_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]*[^\s'\"<>.,;:)]")


def redact_text(text: str) -> str:
    """``text`` (a message) with every URL in it passed through :func:`redact_url`: the last
    guard before a message is printed or stored."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
