"""The run summary lists the tables in load order, a failing one marked NO where it is."""

from __future__ import annotations

from collections import Counter

from migrate.report.model import RunReport, TableStats
from migrate.report.render import render_table


def test_a_failing_table_keeps_its_place_in_load_order() -> None:
    report = RunReport("p", "src", "ndjson:out")
    report.tables = [TableStats("patients", "p.patient", "patients.csv", read=10, emitted=10),
                     TableStats("encounters", "p.encounter", "encounters.csv", read=10,
                                quarantined=Counter({"bad-date": 10})),
                     TableStats("observations", "p.obs", "observations.csv", read=5,
                                emitted=5)]
    lines = render_table(report).splitlines()
    assert [(line.split()[0], line.split()[-1]) for line in lines[1:4]] == [
        ("patients", "yes"), ("encounters", "NO"), ("observations", "yes")]
    assert any(line.strip().startswith("table 'encounters'") for line in lines)
