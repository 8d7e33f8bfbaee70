"""Step 3 of `emr-migrate scaffold`: the text of the starter pack's files (mappings,
pack.yaml, README.md) from the analysed schema. Only names, types, counts and shares are
written: no value of the data ever reaches these files.
"""

from __future__ import annotations

import json
import re

from migrate.scaffold.analyse import ForeignKey, Schema, TableInfo
from migrate.scaffold.columns import ColumnInfo

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COLUMN_REF = re.compile(r"[A-Za-z_][\w.\- ]*")  # what `$name` can read (compiler.ref_name)
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
REF_ELEMENTS = {"Patient": "patient", "Encounter": "encounter"}  # let names
# The minimal valid body of each suggested resource, before references (TODOs in comments).
BODIES: dict[str, list[str]] = {
    "Patient": [],
    "Encounter": ["status: unknown                   # TODO: from a status or discharge column",
                  "class: {system: " + ENCOUNTER_CLASS + ", code: {class}}   # TODO: check"],
    "Condition": [],
    "Procedure": ["status: unknown                   # TODO: completed, when it is"],
    "MedicationRequest": ["status: unknown                   # TODO",
                          "intent: order",
                          "medicationCodeableConcept: {text: TODO}   # TODO: the drug column"],
    "Observation": ["status: unknown                   # TODO: final, when it is",
                    "code: {text: TODO}                # TODO: the item code (a look-up?)"],
    "Basic": ["code: {text: TODO}                # TODO: choose a resource for this table"],
}


def yaml_text(name: str) -> str:
    """A name as a YAML scalar: plain when safe, else JSON-quoted (JSON is YAML)."""
    if _PLAIN.fullmatch(name) and name.lower() not in _YAML_WORDS:
        return name
    return json.dumps(name)


def comment_text(name: str) -> str:
    """A name inside a YAML comment (one line, printable)."""
    return "".join(ch if ch.isprintable() else "?" for ch in name)


def readable(column: str) -> bool:
    """True when a template can read the column as ``$column``."""
    return bool(_COLUMN_REF.fullmatch(column))


def slug(name: str) -> str:
    """A table name as a mapping or file name (``^[a-z0-9][a-z0-9_.-]*$``)."""
    out = re.sub(r"[^a-z0-9_.\-]+", "-", name.lower()).strip("-._")
    return out if out and out[0].isalnum() else f"t-{out or 'table'}"


def lookup_name(table: str, taken: set[str]) -> str:
    """A look-up name (a plain identifier) for a dictionary table, unique in the mapping."""
    base = re.sub(r"\W+", "_", table.lower()).strip("_") or "dictionary"
    base = base if not base[0].isdigit() else f"d_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def suggestion(col: ColumnInfo, table: str) -> str:
    """A transform to start from, for a column's comment."""
    ref = f"${col.name}"
    if col.kind in ("date", "datetime"):
        fmt = f", formats: [{json.dumps(col.fmt)}]" if col.fmt and col.fmt != "%Y-%m-%d" else ""
        return f"{{{col.kind}: {{value: {ref}{fmt}}}}}"
    if col.flag:
        true, false = (json.dumps(t) for t in col.flag)
        return f"{{boolean: {{value: {ref}, true: [{true}], false: [{false}]}}}}"
    return {"integer": f"{{integer: {ref}}}", "decimal": f"{{decimal: {ref}}}",
            "number": f"{{decimal: {{value: {ref}, thousands: \",\"}}}}",
            "code": f"{{translate: {{map: {slug(table)}-{slug(col.name)}, from: {ref}}}}}",
            }.get(col.kind, ref)


def column_comment(col: ColumnInfo, t: TableInfo, schema: Schema) -> str:
    """One comment line per column: type, null share, distinct count, role, TODO."""
    roles = ["key"] if col.name in t.key else []
    roles += [f"-> {fk.ref_table}.{fk.ref_column}" for fk in t.foreign_keys
              if fk.column == col.name]
    extra = "; ".join(roles + col.notes)
    if not readable(col.name):
        todo = "TODO: not readable as $name (rename it in a query)"
    elif len(roles) > (1 if "key" in roles else 0):
        todo = "TODO: a reference or look-up (see above), or an identifier"
    else:
        todo = f"TODO: map it, e.g. {suggestion(col, t.name)}"
    distinct = f"{col.distinct}{'+' if col.capped else ''} distinct"
    return (f"#   {comment_text(col.name)}: {col.type_text}, null {col.null_share:.1%}, "
            f"{distinct}{'; ' + comment_text(extra) if extra else ''}. {todo}")


def lookup_block(fks: list[ForeignKey], schema: Schema) -> list[str]:
    """Commented `lookup:` blocks for the dictionaries this table's columns reference."""
    lines: list[str] = []
    taken: set[str] = set()
    for fk in fks:
        label = schema.table(fk.ref_table).label
        if label is None or not readable(fk.column):
            continue
        if not lines:
            lines.append("# TODO: dictionary look-ups found; uncomment to read their labels as "
                         "$NAME.COLUMN")
            lines.append("# lookup:")
        lines += [f"#   {lookup_name(fk.ref_table, taken)}:",
                  f"#     table: {yaml_text(fk.ref_table)}",
                  f"#     key: [{yaml_text(fk.ref_column)}]",
                  f"#     match: [{yaml_text('$' + fk.column)}]",
                  f"#     columns: [{yaml_text(label)}]"]
    return lines


def _flow(names: list[str]) -> str:
    return "[" + ", ".join(yaml_text(n) for n in names) + "]"


def _refs(t: TableInfo, schema: Schema, names: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``{"patient" | "encounter": (mapping name, column)}`` from the table's foreign keys to
    the key of a Patient or Encounter mapping."""
    out: dict[str, tuple[str, str]] = {}
    for fk in t.foreign_keys:
        target = schema.table(fk.ref_table)
        role = REF_ELEMENTS.get(target.resource or "")
        if (role and role not in out and target.key == [fk.ref_column] and readable(fk.column)
                and fk.ref_table in names and (role, t.resource) != ("encounter", "Basic")
                and t.resource not in ("Patient", target.resource)):
            out[role] = (names[fk.ref_table], fk.column)
    return out


def _template(t: TableInfo, refs: dict[str, tuple[str, str]], pack: str) -> list[str]:
    """The template lines (indented under ``template:``)."""
    resource = t.resource or "Basic"
    body = [line.replace("{class}", "IMP" if re.search(r"admi|stay|inpat", t.name, re.I)
                         else "AMB") for line in BODIES[resource]]
    if resource == "Patient" and len(t.key) == 1 and readable(t.key[0]):
        system = f"urn:emr-migrate:{pack}:{slug(t.name)}:{slug(t.key[0])}"
        body.insert(0, f"identifier: [{{identifier: {{system: {json.dumps(system)}, "
                       f"value: {yaml_text('$' + t.key[0])}}}}}]   # TODO: a real system URI")
    for role in ("patient", "encounter"):
        if role in refs:
            body.append(f"{'subject' if role == 'patient' else 'encounter'}: ${role}")
    return body or ["active: true                      # TODO: map the columns below"]


def mapping_text(t: TableInfo, schema: Schema, pack: str, names: dict[str, str]) -> str:
    """The starter mapping file of one entity table."""
    refs = _refs(t, schema, names)
    head = [f"# Starter mapping for table {comment_text(t.name)}: {t.rows} rows"
            + (f", {t.rejected} unparseable lines (quarantined by run)" if t.rejected else "")
            + ". Written by emr-migrate scaffold: review every TODO.",
            f"# Resource: {t.resource} ({t.resource_note}).",
            f"# Key: {comment_text(', '.join(t.key))} ({t.key_note}).",
            f"mapping: {names[t.name]}",
            f"description: {json.dumps(f'{t.name} -> {t.resource} (starter, TODO: review)')}",
            f"source: {yaml_text(t.name)}",
            f"key: {_flow(t.key)}"]
    if len(t.key) == len(t.columns) and len(t.key) > 1:
        nullable = [c.name for c in t.columns if c.null_share > 0]
        head += [f"nullable_key: {_flow(nullable)}"] if nullable else []
        head.append("duplicate_keys: number")
    head += lookup_block(t.foreign_keys, schema)
    if refs:
        head.append("let:")
        head += [f"  {role}: {{ref: {{mapping: {m}, key: [{yaml_text('$' + col)}]}}}}"
                 for role, (m, col) in refs.items()]
    head += ["emit:", f"  - resource: {t.resource}", "    template:"]
    head += [f"      {line}" for line in _template(t, refs, pack)]
    head.append("# Columns (each: type, null share, distinct values; TODO: map or drop it):")
    head += [column_comment(c, t, schema) for c in t.columns]
    return "\n".join(head) + "\n"
