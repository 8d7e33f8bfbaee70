"""Step 3 of `emr-migrate scaffold`: the text of the starter pack's files (mappings,
pack.yaml, README.md) from the analysed schema. Only names, types, counts and shares are
written: no value of the data ever reaches these files.
"""

from __future__ import annotations

import json

from migrate.scaffold.analyse import Schema, TableInfo, notes_text
from migrate.scaffold.columns import ColumnInfo
from migrate.scaffold.elements import Code, Lookup, codes, lookups
from migrate.scaffold.hints import quantity_pairs
from migrate.scaffold.templates import SHAPES, date_value, template
from migrate.scaffold.yamltext import comment_text, readable, ref, slug, yaml_text

__all__ = ["column_comment", "comment_text", "lookup_block", "mapping_text", "readable", "slug",
           "suggestion", "yaml_text"]
REF_ELEMENTS = {"Patient": "patient", "Encounter": "encounter"}  # let names


def suggestion(col: ColumnInfo, table: str, unit: ColumnInfo | None = None) -> str:
    """A transform to start from, for a column's comment (a `quantity` when ``unit`` is the
    column of its unit)."""
    ref = f"${col.name}"
    if col.kind in ("date", "datetime"):
        fmt = f", formats: [{json.dumps(col.fmt)}]" if col.fmt and col.fmt != "%Y-%m-%d" else ""
        return f"{{{col.kind}: {{value: {ref}{fmt}}}}}"
    if unit is not None:
        thousands = ', thousands: ","' if col.kind == "number" else ""
        return f"{{quantity: {{value: {ref}, unit: ${unit.name}{thousands}}}}}"
    if col.default_flag:
        return f"{{boolean: {ref}}}"
    if col.flag:
        true, false = (json.dumps(t) for t in col.flag)
        return f"{{boolean: {{value: {ref}, true: [{true}], false: [{false}]}}}}"
    return {"integer": f"{{integer: {ref}}}", "decimal": f"{{decimal: {ref}}}",
            "number": f"{{decimal: {{value: {ref}, thousands: \",\"}}}}",
            "code": f"{{translate: {{map: {slug(table)}-{slug(col.name)}, from: {ref}, "
                    "on_unmapped: quarantine}}",
            }.get(col.kind, ref)


def coding(code: Code) -> str:
    """A CodeableConcept to start from, for a code column's comment."""
    text = code.text.name if code.text else (
        f"{code.lookup.name}.{code.lookup.label}" if code.lookup else None)
    display = f", display: ${text}" if text else ""
    return f'{{coding: [{{system: "TODO", code: ${code.column.name}{display}}}]}}'


def column_comment(col: ColumnInfo, t: TableInfo, schema: Schema,
                   used: set[str] | None = None, found: list[Code] | None = None) -> str:
    """One comment line per column: type, null share, distinct count, role, TODO."""
    roles = ["key"] if col.name in t.key else []
    roles += [f"-> {fk.ref_table}.{fk.ref_column}" for fk in t.foreign_keys
              if fk.column == col.name]
    orphans = [fk.orphans(schema.table(fk.ref_table).is_dictionary) for fk in t.foreign_keys
               if fk.column == col.name and fk.missing]
    extra = "; ".join(roles + orphans + col.notes)
    code = next((c for c in found or [] if c.column is col), None)
    described = next((c for c in found or [] if c.text is col), None)
    in_template = "used in the template above; " if col.name in (used or ()) else ""
    pairs = quantity_pairs(t)
    measured = next((v for v, u in pairs.items() if u is col), None)
    if not readable(col.name):
        todo = "TODO: not readable as $name (rename it in a query)"
    elif code is not None:
        todo = f"{in_template}TODO: a CodeableConcept, e.g. {coding(code)}"
    elif described is not None:
        todo = f"{in_template}TODO: the text of ${described.column.name} (its description)"
    elif in_template:
        todo = in_template + "TODO: check it"
    elif len(roles) > (1 if "key" in roles else 0):
        todo = "TODO: a reference or look-up (see above), or an identifier"
    elif measured is not None:
        todo = (f"TODO: the unit of ${measured} (a quantity); pack.yaml's units: note lists "
                "the spellings UCUM lacks")
    else:
        todo = f"TODO: map it, e.g. {suggestion(col, t.name, pairs.get(col.name))}"
    distinct = f"{col.distinct}{'+' if col.capped else ''} distinct"
    return (f"#   {comment_text(col.name)}: {col.type_text}, null {col.null_share:.1%}, "
            f"{distinct}{'; ' + comment_text(extra) if extra else ''}. {todo}")


def lookup_block(looked: list[Lookup]) -> list[str]:
    """Commented `lookup:` blocks for the dictionaries (and the related encounter row) this
    table's columns reference."""
    if not looked:
        return []
    lines = ["# TODO: look-ups found (dictionaries, related rows); uncomment to read their "
             "columns as $NAME.COLUMN", "# lookup:"]
    for lk in looked:
        lines += [f"#   {lk.name}:",
                  f"#     table: {yaml_text(lk.table)}",
                  f"#     key: [{yaml_text(lk.key)}]",
                  f"#     match: [{ref(lk.column)}]",
                  f"#     columns: [{yaml_text(lk.label)}]" + (
                      f"   # also in it: {comment_text(', '.join(lk.others))}"
                      if lk.others else ""),
                  f"#     on_missing: {lk.on_missing}   # {_on_missing_why(lk)}"]
    return lines


def _on_missing_why(lk: Lookup) -> str:
    """The comment on a look-up's `on_missing`: why, the other choice, and the orphans the
    scaffold saw (counts only)."""
    seen = (f" Seen: {lk.missing} value(s) of {comment_text(lk.column)} not found in "
            f"{comment_text(lk.table)} ({lk.missing_rows} row(s))." if lk.missing else "")
    if lk.date is not None:
        why = (f"a row whose {comment_text(lk.table)} row is missing would reference nothing: "
               "held back as lookup-miss (keep: mapped without the date, a warning).")
    else:
        why = (f"a code {comment_text(lk.table)} lacks is still written, without its label, "
               "and counted as a warning lookup-miss (quarantine: hold such rows back).")
    return why + seen


def _flow(names: list[str]) -> str:
    return "[" + ", ".join(yaml_text(n) for n in names) + "]"


def _refs(t: TableInfo, schema: Schema, names: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``{"patient" | "encounter": (mapping name, column)}`` from the table's foreign keys to
    the key of a Patient or Encounter mapping, for the references the resource has."""
    shape = SHAPES[t.resource or "Basic"]
    out: dict[str, tuple[str, str]] = {}
    for fk in t.foreign_keys:
        target = schema.table(fk.ref_table)
        role = REF_ELEMENTS.get(target.resource or "")
        if (role and role not in out and getattr(shape, role) and target.key == [fk.ref_column]
                and readable(fk.column) and fk.ref_table in names):
            out[role] = (names[fk.ref_table], fk.column)
    return out


def document_hint(t: TableInfo, refs: dict[str, tuple[str, str]]) -> list[str]:
    """For a notes table left as Basic, a commented DocumentReference template to start
    from."""
    text = notes_text(t) if t.resource == "Basic" else None
    if text is None or not readable(text.name):
        return []
    when = next((c for c in t.columns if c.kind in ("date", "datetime") and c.exact
                 and readable(c.name)), None)
    date = f", context: {{period: {{start: {date_value(when, when.kind)}}}}}" if when else ""
    subject = ", subject: $patient" if "patient" in refs else ""
    return [f"# TODO: a DocumentReference suggested for the notes in {comment_text(text.name)}:",
            f"#   status: current, type: {{text: TODO}}{subject}{date},",
            f"#   text: {{status: generated, div: {{xhtml: ${text.name}}}}}, "
            "content: [{attachment: {contentType: text/plain}}]"]


def mapping_text(t: TableInfo, schema: Schema, pack: str, names: dict[str, str]) -> str:
    """The starter mapping file of one entity table."""
    refs = _refs(t, schema, names)
    looked = lookups(t, schema)
    body = template(t, {role: col for role, (_m, col) in refs.items()}, looked, pack,
                    schema.kind)
    head = [f"# Starter mapping for table {comment_text(t.name)}: {t.rows} rows"
            + (f", {t.rejected} unparseable lines (quarantined by run)" if t.rejected else "")
            + ". Written by emr-migrate scaffold: review every TODO.",
            f"# Resource: {t.resource} ({t.resource_note}).",
            *document_hint(t, refs),
            f"# Key: {comment_text(', '.join(t.key))} ({t.key_note}).",
            f"mapping: {names[t.name]}",
            f"description: {json.dumps(f'{t.name} -> {t.resource} (starter, TODO: review)')}",
            f"source: {yaml_text(t.name)}",
            f"key: {_flow(t.key)}"]
    if len(t.key) == len(t.columns) and len(t.key) > 1:
        nullable = [c.name for c in t.columns if c.null_share > 0]
        head += [f"nullable_key: {_flow(nullable)}"] if nullable else []
        head.append("duplicate_keys: number")
    head += lookup_block(looked)
    if refs:
        head.append("let:")
        head += [f"  {role}: {{ref: {{mapping: {m}, key: [{ref(col)}]}}}}"
                 for role, (m, col) in refs.items()]
    head += ["emit:", f"  - resource: {t.resource}", "    template:"]
    head += [f"      {line}" for line in body.lines]
    head.append("# Columns (each: type, null share, distinct values; TODO: map or drop it):")
    found = codes(t, looked)
    head += [column_comment(c, t, schema, body.used, found) for c in t.columns]
    return "\n".join(head) + "\n"
