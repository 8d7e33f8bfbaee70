"""Is a server's answer a positive acknowledgement? The one check of loads, replays and syncs.

A write counts only when the answer is a FHIR response that says so. For a ``transaction`` or
``batch`` bundle that is a JSON Bundle of type ``transaction-response`` / ``batch-response``
with exactly one entry per request entry, each with a readable ``response.status``; an entry is
acknowledged when that status is 2xx, and a transaction only when all of them are. Anything
else (a ``200 text/html`` login or WAF page, JSON that is not a Bundle, the wrong Bundle type,
fewer or more entries) is not an acknowledgement of anything: :attr:`BundleAnswer.problem`
says why, for the dead letters and the user. For a read, the answer must be the resource
asked for (:func:`read_answer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from migrate.errors import LoadError
from migrate.redact import redact_url

NOTHING_COUNTED = "nothing counted as written"


@dataclass(frozen=True)
class EntryAnswer:
    """The server's answer to one request entry of a bundle."""

    status: int | None
    response: dict[str, Any]

    @property
    def ok(self) -> bool:
        """A readable 2xx status: the write is acknowledged."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def outcome(self) -> Any:
        """The entry's OperationOutcome, or one saying its status was unreadable."""
        if self.response.get("outcome") is not None or self.status is not None:
            return self.response.get("outcome")
        return outcome_of("the server's answer to this entry has no readable status "
                          f"(response.status: {self.response.get('status')!r}); "
                          f"{NOTHING_COUNTED}")


@dataclass(frozen=True)
class BundleAnswer:
    """A bundle's answer read entry by entry; ``problem`` when it acknowledges nothing."""

    http_status: int
    problem: str | None = None
    entries: list[EntryAnswer] = field(default_factory=list)

    def outcome(self) -> dict[str, Any]:
        """An OperationOutcome carrying ``problem`` (for dead letters)."""
        return outcome_of(self.problem or "", "exception")


def entry_status(answer: dict[str, Any]) -> int | None:
    """The HTTP status of a bundle entry's ``response`` (``"201 Created"`` -> 201); None when
    it is missing or unreadable."""
    status = answer.get("status")
    if not isinstance(status, str):  # FHIR's response.status is a string ("201 Created"); a
        return None  # number or anything else is not a FHIR answer, so it acknowledges nothing
    text = status.split()
    return int(text[0]) if text and text[0].isdigit() else None


def outcome_of(text: str, code: str = "exception") -> dict[str, Any]:
    """A one-issue error OperationOutcome."""
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": text}]}


def read_bundle_answer(resp: httpx.Response, kind: str, sent: int, url: str) -> BundleAnswer:
    """Read the answer to a ``kind`` bundle (``transaction`` or ``batch``) of ``sent`` entries.

    ``problem`` is set, and nothing may be counted as written, unless the answer is a 2xx JSON
    Bundle of type ``{kind}-response`` with ``sent`` entries (for a transaction, all 2xx).
    """
    expected = f"{kind}-response"
    body, why = _bundle_body(resp, expected)
    if body is not None:
        raw = body.get("entry") or []
        if not isinstance(raw, list) or len(raw) != sent:
            got = len(raw) if isinstance(raw, list) else "no list of"
            why = f"{got} entries for the {sent} sent"
    if why is not None:
        return BundleAnswer(resp.status_code, _not_acknowledged(resp, url, expected, why))
    entries = [_entry_answer(e) for e in raw]
    if kind == "transaction":
        bad = next((i for i, e in enumerate(entries) if not e.ok), None)
        if bad is not None:
            why = f"entry {bad + 1} answered {entries[bad].response.get('status')!r}, not 2xx"
            return BundleAnswer(resp.status_code,
                                _not_acknowledged(resp, url, expected, why), entries)
    return BundleAnswer(resp.status_code, None, entries)


def _bundle_body(resp: httpx.Response, expected: str) -> tuple[dict[str, Any] | None, str | None]:
    """The answer's JSON Bundle of the expected type, else None and why not."""
    if not 200 <= resp.status_code < 300:
        return None, "not a 2xx status"
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        return None, "the body is not JSON"
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        what = body.get("resourceType") if isinstance(body, dict) else None
        return None, f"JSON with resourceType {what!r}, not a Bundle"
    if body.get("type") != expected:
        return None, f"a Bundle of type {body.get('type')!r}"
    return body, None


def _entry_answer(raw: Any) -> EntryAnswer:
    response = raw.get("response") if isinstance(raw, dict) else None
    if not isinstance(response, dict):
        response = {}
    return EntryAnswer(entry_status(response), response)


def _not_acknowledged(resp: httpx.Response, url: str, expected: str, why: str) -> str:
    return (f"{redact_url(url)} answered {resp.status_code} {_content_type(resp)}, not a FHIR "
            f"{expected} ({why}); {NOTHING_COUNTED}")


def read_answer(resp: httpx.Response, rtype: str, rid: str, url: str) -> dict[str, Any] | None:
    """The resource a read (``GET Type/id``) answered; None when the server says it has none
    (404, 410). Any other answer, such as a 200 HTML page, is a :class:`LoadError`."""
    if resp.status_code in (404, 410):
        return None
    try:
        body = orjson.loads(resp.content) if resp.status_code == 200 else None
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict) and body.get("resourceType") == rtype and body.get("id") == rid:
        return body
    raise LoadError(f"{redact_url(url)}/{rtype}/{rid} answered {resp.status_code} "
                    f"{_content_type(resp)}, not the {rtype} asked for; the target is not "
                    "answering as a FHIR server")


def check_capability_statement(resp: httpx.Response, url: str) -> None:
    """The answer to ``GET /metadata`` must be a 200 JSON CapabilityStatement (a login page,
    proxy or firewall in front of the server is not): else a :class:`LoadError`."""
    try:
        doc = orjson.loads(resp.content) if resp.status_code == 200 else None
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict) or doc.get("resourceType") != "CapabilityStatement":
        raise LoadError(f"{redact_url(url)}/metadata answered {resp.status_code} "
                        f"{_content_type(resp)}, not a FHIR CapabilityStatement; check the base "
                        "URL (a login page, proxy or firewall in front of the server answers "
                        "like this)")


def _content_type(resp: httpx.Response) -> str:
    return resp.headers.get("Content-Type", "no content type").split(";")[0].strip()


_FHIR_PATH = re.compile(r"[A-Z][A-Za-z]{1,40}(\.[A-Za-z_]\w{0,40}(\[\d{1,4}\])?){1,8}")  # no values


def outcome_summary(resp: httpx.Response) -> str:
    """What a refusal says, without its text: an OperationOutcome's severity, code, issue count
    and element paths (its diagnostics may quote the data sent: a patient's name), or the
    content type and size of anything else."""
    try:
        body = orjson.loads(resp.content)
    except orjson.JSONDecodeError:
        body = None
    issues = body.get("issue") if isinstance(body, dict) and \
        body.get("resourceType") == "OperationOutcome" else None
    if not isinstance(issues, list):
        return f"{_content_type(resp)}, {len(resp.content)} bytes (not shown)"
    parts = [_issue_summary(i) for i in issues[:3] if isinstance(i, dict)]
    more = f" and {len(issues) - 3} more" if len(issues) > 3 else ""
    return (f"OperationOutcome with {len(issues)} issue(s): {'; '.join(parts)}{more} (its text "
            "is not shown: it may quote patient data)")


def _issue_summary(issue: dict[str, Any]) -> str:
    where = issue.get("expression") or issue.get("location") or []
    paths = [p for p in where if isinstance(p, str) and _FHIR_PATH.fullmatch(p)] \
        if isinstance(where, list) else []
    text = f"{issue.get('severity', '?')} {issue.get('code', '?')}"
    return text + (f" at {', '.join(paths[:2])}" if paths else "")
