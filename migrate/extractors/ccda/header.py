"""The header of a C-CDA document as rows: the document, its patient (recordTarget), and the
organizations and practitioners it names (custodian, authors, service-event performers,
legal authenticator; encounter performers come through ``practitioner``).

Keys: a patient is its id AND its name and birth date (EMERGE gives 50 people one id; a
document without a usable id is its own patient), an organization its id or its name and
city, a practitioner its NPI, its id, or its name and organization.
"""

from __future__ import annotations

import unicodedata

from lxml import etree

from migrate.extractors.ccda.coded import HL7, SDTC, coded, plain
from migrate.extractors.ccda.context import Context, Row
from migrate.extractors.ccda.keys import key, norm
from migrate.extractors.ccda.tables import ADDRESS, TABLES

SSN = "2.16.840.1.113883.4.1"
NPI = "2.16.840.1.113883.4.6"
_ID, _NAME, _ADDR, _TELECOM = HL7 + "id", HL7 + "name", HL7 + "addr", HL7 + "telecom"
_ADDR_PARTS = (("city", "city"), ("state", "state"), ("postalCode", "postal_code"),
               ("country", "country"))
_PATIENT_COLUMNS = TABLES["patients"]


def _ids(el: etree._Element) -> list[tuple[str, str | None]]:
    """The usable ids of ``el`` (a root, no nullFlavor), as (root, extension)."""
    return [(i.get("root"), i.get("extension")) for i in el.iterchildren(_ID)
            if i.get("root") and i.get("nullFlavor") is None]


def _get(el: etree._Element | None, path: str, attr: str) -> str | None:
    found = el.find(path) if el is not None else None
    return found.get(attr) if found is not None else None


def name_parts(name: etree._Element | None) -> dict[str, str | None]:
    """family, given (all given names, space-separated), prefix, suffix, name_use."""
    if name is None:
        return dict.fromkeys(("family", "given", "prefix", "suffix", "name_use"))
    given = [g for g in (plain(e) for e in name.iterchildren(HL7 + "given")) if g]
    return {"family": plain(name.find(HL7 + "family")), "given": " ".join(given) or None,
            "prefix": plain(name.find(HL7 + "prefix")),
            "suffix": plain(name.find(HL7 + "suffix")), "name_use": name.get("use")}


def address(el: etree._Element | None) -> dict[str, str | None]:
    """The ADDRESS columns of an entity's first ``addr`` (parts with a nullFlavor are None)."""
    out = dict.fromkeys(ADDRESS)
    addr = el.find(_ADDR) if el is not None else None
    if addr is None:
        return out
    lines = [plain(s) for s in addr.iterchildren(HL7 + "streetAddressLine")]
    lines = [s for s in lines if s]
    out["street"], out["street2"] = (lines + [None, None])[:2]
    for tag, column in _ADDR_PARTS:
        out[column] = plain(addr.find(HL7 + tag))
    out["address_use"] = addr.get("use")
    return out


def telecoms(el: etree._Element | None) -> tuple[str | None, str | None, str | None]:
    """(first phone as written, its use, first e-mail as written)."""
    phone = use = email = None
    for t in el.iterchildren(_TELECOM) if el is not None else ():
        v = t.get("value") or ""
        if v.startswith("tel:") and phone is None:
            phone, use = v, t.get("use")
        elif v.startswith("mailto:") and email is None:
            email = v
    return phone, use, email


def organization(ctx: Context, org: etree._Element | None) -> str | None:
    """Add the organization row of ``org`` and return its key (None: no id and no name)."""
    if org is None:
        return None
    ids = [(r, e) for r, e in _ids(org) if e]
    name = plain(org.find(_NAME))
    addr = address(org)
    if ids:
        org_key = key("organization", *ids[0])
    elif name:
        org_key = key("organization", "name", norm(name), norm(addr["city"]))
    else:
        return None
    root, ext = ids[0] if ids else (None, None)
    values = {"organization_key": org_key, "id_root": root, "id_extension": ext,
              "name": name, "phone": telecoms(org)[0], **addr}
    ctx.add_party(Row("organizations", org_key, values, org.sourceline))
    return org_key


def practitioner(ctx: Context, assigned: etree._Element | None,
                 person_tag: str = "assignedPerson") -> str | None:
    """Add the practitioner row of an assignedAuthor/assignedEntity; return its key (None when
    it names no person: a device author, or no id and no name)."""
    if assigned is None:
        return None
    person = assigned.find(HL7 + person_tag)
    if person is None:
        return None
    ids = _ids(assigned)
    names = name_parts(person.find(_NAME))
    org_key = organization(ctx, assigned.find(HL7 + "representedOrganization"))
    npi = next((e for r, e in ids if r == NPI and e), None)
    full = next(((r, e) for r, e in ids if e), None)
    if npi:
        p_key = key("practitioner", "npi", npi)
    elif full:
        p_key = key("practitioner", *full)
    elif names["family"] or names["given"]:
        p_key = key("practitioner", "name", norm(names["family"]), norm(names["given"]),
                    org_key or "")
    else:
        return None
    root, ext = full or (ids[0] if ids else (None, None))
    values = {"practitioner_key": p_key, "npi": npi, "id_root": root, "id_extension": ext,
              **{k: names[k] for k in ("family", "given", "prefix", "suffix")},
              "phone": telecoms(assigned)[0], **address(assigned), "organization_key": org_key,
              **coded(assigned.find(HL7 + "code"), "role", ctx.narrative)}
    ctx.add_party(Row("practitioners", p_key, values, assigned.sourceline))
    return p_key


def patient_key(role: etree._Element | None, document_key: str) -> str:
    """The patient's key: first usable non-SSN id (else the first usable id) with the family
    name, the first given name (a middle name one system omits makes no other person) and
    the birth date (8 digits); a per-document key when the document gives no usable id."""
    ids = _ids(role) if role is not None else []
    chosen = next((i for i in ids if i[0] != SSN), ids[0] if ids else None)
    if chosen is None:
        return key("patient", "document", document_key)
    patient = role.find(HL7 + "patient")
    names = name_parts(patient.find(_NAME) if patient is not None else None)
    birth = _get(patient, HL7 + "birthTime", "value") or ""
    first_given = (names["given"] or "").split(" ")[0]
    return key("patient", chosen[0], chosen[1], _fold(names["family"]), _fold(first_given),
               birth[:8])


def _fold(name: str | None) -> str:
    """A name as the patient key compares it: ``norm`` without accents (``José`` and ``Jose``,
    written by two systems for one id and birth date, are one person)."""
    decomposed = unicodedata.normalize("NFKD", norm(name))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def patient_row(ctx: Context, root: etree._Element) -> Row:
    """The patients row of the first recordTarget/patientRole; sets ``ctx.patient_key``."""
    role = root.find(f"{HL7}recordTarget/{HL7}patientRole")
    ctx.patient_key = patient_key(role, ctx.document_key)
    values = dict.fromkeys(c for c in _PATIENT_COLUMNS if c != "documents")
    values.update(patient_key=ctx.patient_key, document_key=ctx.document_key)
    if role is None:
        return Row("patients", ctx.patient_key, values, None)
    ids = _ids(role)
    chosen = [i for i in ids if i[0] != SSN][:1] or ids[:1]
    rest = [i for i in ids if i not in chosen]
    for prefix, found in (("id", chosen), ("id2", rest)):
        root_ext = found[0] if found else (None, None)
        values[f"{prefix}_root"], values[f"{prefix}_extension"] = root_ext
    patient = role.find(HL7 + "patient")
    if patient is not None:
        values.update(_person(ctx, patient))
    values.update(address(role))
    values["phone"], values["phone_use"], values["email"] = telecoms(role)
    values["organization_key"] = organization(ctx, role.find(HL7 + "providerOrganization"))
    return Row("patients", ctx.patient_key, values, role.sourceline)


def _person(ctx: Context, patient: etree._Element) -> dict[str, str | None]:
    names = name_parts(patient.find(_NAME))
    gender = patient.find(HL7 + "administrativeGenderCode")
    birth = patient.find(HL7 + "birthTime")
    narrative = ctx.narrative
    return {**names,
            "gender_code": gender.get("code") if gender is not None else None,
            "gender_null": gender.get("nullFlavor") if gender is not None else None,
            "birth_time": birth.get("value") if birth is not None else None,
            "birth_time_null": birth.get("nullFlavor") if birth is not None else None,
            "deceased": _get(patient, SDTC + "deceasedInd", "value"),
            "deceased_time": _get(patient, SDTC + "deceasedTime", "value"),
            **coded(patient.find(HL7 + "maritalStatusCode"), "marital", narrative),
            **coded(patient.find(HL7 + "raceCode"), "race", narrative),
            **coded(patient.find(HL7 + "ethnicGroupCode"), "ethnicity", narrative),
            "language_code": _get(patient, f"{HL7}languageCommunication/{HL7}languageCode",
                                  "code")}


def parties(ctx: Context, root: etree._Element) -> tuple[str | None, str | None, str | None]:
    """Add the header's organizations and practitioners; return (custodian_key, author_key of
    the first author naming a person, that author's time)."""
    custodian = organization(ctx, root.find(
        f"{HL7}custodian/{HL7}assignedCustodian/{HL7}representedCustodianOrganization"))
    author_key = author_time = None
    for author in root.iterchildren(HL7 + "author"):
        p_key = practitioner(ctx, author.find(HL7 + "assignedAuthor"))
        organization(ctx, author.find(f"{HL7}assignedAuthor/{HL7}representedOrganization"))
        if p_key and author_key is None:
            author_key, author_time = p_key, _get(author, HL7 + "time", "value")
    for performer in root.iterfind(f"{HL7}documentationOf/{HL7}serviceEvent/{HL7}performer"):
        practitioner(ctx, performer.find(HL7 + "assignedEntity"))
    practitioner(ctx, root.find(f"{HL7}legalAuthenticator/{HL7}assignedEntity"))
    return custodian, author_key, author_time


US_REALM_HEADER = "2.16.840.1.113883.10.20.22.1.1"


def document_values(ctx: Context, root: etree._Element) -> dict[str, str | None]:
    """The documents row's header columns (E1 fills file, size, sha1_base64, data_base64 and
    content_type; ``statements`` the counts)."""
    tpls = [(t.get("root"), t.get("extension")) for t in root.iterchildren(HL7 + "templateId")
            if t.get("root")]
    kind = next((t for t in tpls if t[0].startswith("2.16.840.1.113883.10.20.22.1.")
                 and t[0] != US_REALM_HEADER), tpls[0] if tpls else (None, None))
    doc_id, set_id = root.find(_ID), root.find(HL7 + "setId")
    component = root.find(HL7 + "component")
    body = None
    if component is not None:
        body = next((etree.QName(c).localname for c in component.iterchildren(etree.Element)),
                    None)
    return {"document_key": ctx.document_key, "patient_key": ctx.patient_key,
            "doc_id_root": doc_id.get("root") if doc_id is not None else None,
            "doc_id_extension": doc_id.get("extension") if doc_id is not None else None,
            "set_id_root": set_id.get("root") if set_id is not None else None,
            "set_id_extension": set_id.get("extension") if set_id is not None else None,
            "version": _get(root, HL7 + "versionNumber", "value"),
            **coded(root.find(HL7 + "code"), "code", ctx.narrative),
            "title": plain(root.find(HL7 + "title")),
            "effective": _get(root, HL7 + "effectiveTime", "value"),
            "confidentiality": _get(root, HL7 + "confidentialityCode", "code"),
            "language": _get(root, HL7 + "languageCode", "code"),
            "doc_template": kind[0], "template_version": kind[1], "body": body}
