"""``report.html``: the cutover-readiness report as one self-contained page.

No scripts, fonts, images or style sheets from elsewhere: CSS and SVG charts are inline, so
the file opens offline and prints well (``@media print``). Row keys and values follow the
report's redactor (hashed keys and no values unless ``--show-values``). Main figures carry
``data-figure`` attributes so tests (and tools) can read them from the rendered page.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

from migrate.report import svg
from migrate.report.html_css import CSS
from migrate.report.validate_model import GO, ValidationReport

THRESHOLDS_FROM = (
    "The limits come from the project file: its <code>validate:</code> section "
    "(max_quarantine_rate, max_unmapped_code_rate, max_dangling_references, "
    "fail_on_critical_expectations); without a <code>validate: max_quarantine_rate</code>, the "
    "quarantine rate is <code>thresholds: max_quarantine_rate</code> (or "
    "<code>--max-quarantine-rate</code>), and a table's own rate is in <code>thresholds: "
    "tables:</code>.")


def render_html(report: ValidationReport) -> str:
    """The whole page."""
    data = report.as_dict()
    sections = [_verdict(data), _figures(data), _checks(data), _rows(data), _resources(data),
                _expectations(data), _output(data), _gaps(data), _quarantine(data),
                _filtered(data), _coverage(data), _footer(data)]
    title = f"Cutover readiness: {data['pack']} — {data['verdict']}"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{CSS}</style></head><body><main>"
            f"<header><h1>Cutover readiness report</h1><p class=\"meta\">Pack "
            f"<b>{escape(data['pack'])}</b> · source <code>{escape(data['source'])}</code> · "
            f"{escape(data['generated_at'])} · {data['seconds']:.1f} s · dry run, nothing "
            "loaded</p></header>" + "".join(sections) + "</main></body></html>\n")


# -- building blocks ---------------------------------------------------------------------------
def _e(value: Any) -> str:
    return "" if value is None else escape(str(value))


def _num(value: int | float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"


def _table(headers: list[str], rows: Iterable[list[str]], css: str = "") -> str:
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return '<p class="none">None.</p>'
    head = "".join(f"<th>{h}</th>" for h in headers)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _section(ident: str, title: str, body: str, intro: str = "") -> str:
    lead = f'<p class="intro">{intro}</p>' if intro else ""
    return f'<section id="{ident}"><h2>{escape(title)}</h2>{lead}{body}</section>'


def _keys(keys: list[Any] | None) -> str:
    if not keys:
        return ""
    return " ".join(f"<code>{_e(k if isinstance(k, str) else _key_text(k))}</code>"
                    for k in keys)


def _key_text(key: Any) -> str:
    if isinstance(key, dict):
        return ", ".join(f"{k}={v}" for k, v in key.items())
    return str(key)


def _values(values: list[Any] | None) -> str:
    if values is None:
        return '<span class="hidden">hidden</span>'
    return " ".join(f"<code>{_e(v)}</code>" for v in values)


def _badge(ok: bool, yes: str = "pass", no: str = "fail") -> str:
    return f'<span class="pill {"ok" if ok else "bad"}">{yes if ok else no}</span>'


def _sev(severity: str) -> str:
    return f'<span class="sev {escape(severity)}">{escape(severity)}</span>'


# -- sections --------------------------------------------------------------------------------
def _verdict(d: dict[str, Any]) -> str:
    go = d["verdict"] == GO
    if go:
        why = f"<p>{_e(go_text(d))}</p>"
    else:
        why = "<ul class=\"reasons\">" + "".join(
            f"<li data-reason>{_e(r)}</li>" for r in d["reasons"]) + "</ul>"
    return (f'<section id="verdict" class="verdict {"go" if go else "nogo"}" '
            f'data-verdict="{_e(d["verdict"])}"><div class="badge" data-figure="verdict">'
            f'{_e(d["verdict"])}</div><div><h2>{"Ready for cutover" if go else "Not ready"}'
            f"</h2>{why}</div></section>")


def go_text(d: dict[str, Any]) -> str:
    """The GO headline: "every check passed" only when nothing failed at all; else what
    failed without blocking (warned expectations, rows quarantined within the threshold)."""
    exp, rows = d["expectations"]["summary"], d["rows"]
    notes = [f"{n} {what}" for n, what in (
        (exp["failed_warning"], "expectation(s) warned"),
        (exp["failed_critical"], "critical expectation(s) failed, not blocking"),
        (rows["quarantined"], "row(s) quarantined, within the threshold"),
        (sum(g["count"] for g in d["terminology_gaps"]),
         "code use(s) unmapped, within the threshold"),
        (d["output"]["dangling_references"], "dangling reference(s), within the threshold"),
    ) if n]
    if not notes:
        return "Every check passed: the source can be migrated as it is."
    return ("No check failed that blocks the migration; " + "; ".join(notes)
            + ". Read them below before cutover.")


def _figures(d: dict[str, Any]) -> str:
    rows, exp, out = d["rows"], d["expectations"]["summary"], d["output"]
    cards = [("rows-read", "rows read", rows["read"]),
             ("rows-emitted", "rows emitted", rows["emitted"]),
             ("rows-filtered", "rows filtered", rows["filtered"]),
             ("rows-quarantined", "rows quarantined", rows["quarantined"]),
             ("resources-total", "resources", d["resources_total"]),
             ("expectations-failed", "expectations failed", exp["failed"]),
             ("expectations-failed-critical", "critical failed", exp["failed_critical"]),
             ("dangling-references", "dangling references", out["dangling_references"]),
             ("unmapped-codes", "unmapped codes", len(d["terminology_gaps"]))]
    body = "".join(f'<div class="card"><div class="n" data-figure="{k}">{_num(v)}</div>'
                   f'<div class="l">{escape(label)}</div></div>' for k, label, v in cards)
    return f'<section id="figures" class="cards">{body}</section>'


def _checks(d: dict[str, Any]) -> str:
    rows = [[_badge(c["passed"]), _e(c["name"].replace("_", " ")), _e(c["message"])]
            for c in d["checks"]]
    return _section("checks", "Verdict checks", _table(["", "check", "finding"], rows),
                    THRESHOLDS_FROM)


def _rows(d: dict[str, Any]) -> str:
    chart = svg.stacked_bars(
        [(t["table"], [svg.Segment(t["emitted"], "emitted", "s-emit"),
                       svg.Segment(t["filtered"], "filtered", "s-filter"),
                       svg.Segment(t["quarantined"], "quarantined", "s-quar")])
         for t in d["tables"]], "Rows per table: emitted, filtered, quarantined")
    rows = [[_e(t["table"]), _e(t["mapping"]), _num(t["read"]), _num(t["emitted"]),
             _num(t["filtered"]), _num(t["quarantined"]), _badge(t["balanced"], "yes", "NO")]
            for t in d["tables"]]
    table = _table(["table", "mapping", "read", "emitted", "filtered", "quarantined",
                    "balanced"], rows, "num")
    return _section("rows", "Rows per table", chart + table,
                    "Every source row ends emitted, filtered by a declared rule, or "
                    "quarantined with its reasons.")


def _resources(d: dict[str, Any]) -> str:
    items = sorted(d["resources"].items(), key=lambda kv: -kv[1])
    chart = svg.bars(items, "Resources per type") if items else '<p class="none">None.</p>'
    return _section("resources", f"Resources per type ({_num(d['resources_total'])})", chart)


def _expectations(d: dict[str, Any]) -> str:
    exp = d["expectations"]
    s = exp["summary"]
    if not exp["results"]:
        return _section("expectations", "Source expectations",
                        '<p class="none">No expectations declared for this pack.</p>')
    failed = [x for x in exp["results"] if not x["success"]]
    passed = [x for x in exp["results"] if x["success"]]
    intro = (f"{s['evaluated']} checked with great-expectations (foreign keys by emr-migrate): "
             f"{s['passed']} passed, {s['failed']} failed ({s['failed_critical']} critical). "
             f"Suite: <code>{_e(exp['suite'])}</code>.")
    body = _table(["severity", "table", "check", "unexpected", "of", "example rows", "values"],
                  (_exp_row(x) for x in failed), "num")
    if passed:
        body += (f"<details><summary>{len(passed)} passed</summary>"
                 + _table(["severity", "table", "check", "values checked"],
                          ([_sev(x["severity"]), _e(x["table"]), _e(x["check"]),
                            _num(x["element_count"])] for x in passed), "num") + "</details>")
    return _section("expectations", "Source expectations", body, intro)


def _exp_row(x: dict[str, Any]) -> list[str]:
    unexpected = (f"{_num(x['unexpected_count'])} ({x['unexpected_percent']:.1f}%)"
                  if not x["error"] else f'<span class="err">{_e(x["error"])}</span>')
    return [_sev(x["severity"]), _e(x["table"]), _e(x["check"]), unexpected,
            _num(x["element_count"]), _keys(x["examples"]), _values(x["values"])]


def _output(d: dict[str, Any]) -> str:
    out = d["output"]
    refs = [r for r in out["references"] if r["dangling"]]
    dangling = _table(["resource", "element", "points to", "references", "dangling",
                       "missing targets (examples)"],
                      ([_e(r["resource_type"]), _e(r["path"]), _e(", ".join(r["target_types"])),
                        _num(r["references"]), _num(r["dangling"]), _keys(r["examples"])]
                       for r in refs), "num")
    must = _table(["resource", "element", "missing in", "of"],
                  ([_e(m["resource_type"]), _e(m["element"]), _num(m["missing"]),
                    _num(m["total"])] for m in out["us_core_must_have"]), "num")
    warn = _table(["warning", "count"], ([_e(k), _num(v)]
                                         for k, v in out["structure_warnings"].items()), "num")
    invalid = _table(["mapping", "element", "problem", "rows"],
                     ([_e(g["mapping"]), _e(g["element"]), _e(g["message"]), _num(g["rows"])]
                      for g in out["invalid_resources"]), "num")
    body = (f"<h3>Dangling references ({_num(out['dangling_references'])})</h3>{dangling}"
            f"<h3>Invalid resources (quarantined)</h3>{invalid}"
            f"<h3>US Core required elements missing (warnings)</h3>{must}"
            f"<h3>Other FHIR warnings</h3>{warn}")
    return _section("output", "Output checks", body,
                    "Structure and required code sets are checked on every resource, as in "
                    "<code>run</code>; references must point to resources in the output.")


def _gaps(d: dict[str, Any]) -> str:
    rows = [[f"<code>{_e(g['code'])}</code>", _e(g["concept_map"]), _e(g["mapping"]),
             _e(g["column"]), _e(g["policy"]), _num(g["count"])] for g in d["terminology_gaps"]]
    file = d["outputs"].get("terminology_gaps", "terminology_gaps.csv")
    return _section("terminology", f"Terminology gaps ({len(rows)})",
                    _table(["source code", "concept map", "mapping", "column", "policy",
                            "rows"], rows, "num"),
                    f"Codes no concept map knew. Fill in <code>{_e(file)}</code> (or the "
                    "fill-in maps next to it) and put them back in the pack.")


def _filtered(d: dict[str, Any]) -> str:
    rows = [[_e(t["table"]), _e(t["mapping"]), f"<code>{_e(rule)}</code>", _num(n)]
            for t in d["tables"] for rule, n in t["filtered_by_rule"].items()]
    return _section("filtered", f"Filtered rows by rule ({_num(d['rows']['filtered'])})",
                    _table(["table", "mapping", "rule", "rows"], rows, "num"),
                    "Rows a declared filter, rule or look-up policy left out on purpose: "
                    "check each rule leaves out only what it should.")


def _quarantine(d: dict[str, Any]) -> str:
    rows = [[_e(g["code"]), _e(g["mapping"]), _e(g["column"] or g["element"] or "—"),
             _e(g["message"]), _num(g["rows"]), _keys(g["examples"]), _values(g["values"])]
            for g in d["quarantine"]]
    return _section("quarantine", "Quarantine by cause",
                    _table(["cause", "mapping", "column", "message", "rows", "example rows",
                            "values"], rows, "num"),
                    "A row with several problems counts under each of them. Details of every "
                    "row: <code>quarantine.ndjson</code>.")


def _coverage(d: dict[str, Any]) -> str:
    cov = d["coverage"]
    tables = _table(["table", "rows", "columns"],
                    ([_e(t["table"]), _num(t["rows"]) if t["rows"] is not None else "?",
                      _e(t["columns"])]
                     for t in cov["unused_tables"]), "num")
    with_data = [c for c in cov["unused_columns"] if c["non_null"]]
    empty = len(cov["unused_columns"]) - len(with_data)
    cols = _table(["table", "column", "values", "of rows"],
                  ([_e(c["table"]), _e(c["column"]), _num(c["non_null"]), _num(c["rows"])]
                   for c in with_data), "num")
    rules = _table(["mapping", "rule", "kind", "where"],
                   ([_e(r["mapping"]), _e(r["name"]), _e(r["kind"]), f"<code>{_e(r['rule'])}"
                     "</code>"] for r in cov["rules_never_fired"]))
    body = (f"<h3>Tables no mapping reads ({len(cov['unused_tables'])})</h3>{tables}"
            f"<h3>Columns with data no mapping reads ({len(with_data)})</h3>{cols}"
            + (f'<p class="intro">{empty} more unread column(s) hold no data.</p>'
               if empty else "")
            + f"<h3>Mapping rules that never fired ({len(cov['rules_never_fired'])})</h3>"
            + rules)
    return _section("coverage", "Coverage: data that would be left behind", body)


def _footer(d: dict[str, Any]) -> str:
    if d["show_values"]:
        note = "This report shows row keys and raw values (made with --show-values): it may "\
               "contain PHI. Share it only with people allowed to see patient data."
    else:
        note = "No PHI: row keys are shown as keyed hashes (#…) and raw values are hidden. " \
               "Run with --show-values to see them, or read quarantine.ndjson."
    files = " · ".join(f"{escape(k)}: <code>{_e(v)}</code>"
                       for k, v in d["outputs"].items() if not k.startswith("fill_in:"))
    return f'<footer><p>{note}</p><p class="files">{files}</p></footer>'
