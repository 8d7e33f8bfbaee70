"""Write the hostile CSV corpus: one small file per case, each a 5-record table with one defect.

Run from the repository root to (re)generate ``tests/hostile/corpus/csv/``::

    python tests/hostile/corpus/make_csv_corpus.py

``expected.json`` beside the files says, per file, what a correct reader must make of it:
rows read, lines quarantined, physical lines, and whether the file is refused as a whole.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "csv"
HEADER = b"Id,PATIENT,DESCRIPTION\n"
ROWS = [b"e%d,p%d,visit %d\n" % (i, i, i) for i in range(1, 6)]


def case(lines: list[bytes], rows: int, quarantined: int, refused: bool = False
         ) -> tuple[bytes, dict[str, object]]:
    data = b"".join(lines)
    physical = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    return data, {"rows": rows, "quarantined": quarantined, "lines": physical,
                  "refused": refused}


CASES = {
    "clean": case([HEADER, *ROWS], 5, 0),
    # Inside an unquoted value a quote is a character (RFC 4180): nothing to quarantine.
    "quote_inside_a_value": case([HEADER, *ROWS[:2], b'e3,p3,visit "3\n', *ROWS[3:]], 5, 0),
    "stray_quote_opens_a_field": case([HEADER, *ROWS[:2], b'e3,p3,"visit 3\n', *ROWS[3:]],
                                      4, 1),
    "stray_quote_first_row": case([HEADER, b'e1,p1,"visit 1\n', *ROWS[1:]], 4, 1),
    "stray_quote_last_row": case([HEADER, *ROWS[:4], b'e5,p5,"visit 5\n'], 4, 1),
    "pair_of_stray_quotes": case([HEADER, ROWS[0], b'e2,p2,"visit 2\n', *ROWS[2:4],
                                  b'e5,p5,visit 5"\n'], 4, 1),
    "multi_line_note": case([HEADER, ROWS[0], b'e2,p2,"line one\nline two"\n', *ROWS[2:]],
                            5, 0),
    "crlf_line_ends": case([HEADER.replace(b"\n", b"\r\n"),
                            *(r.replace(b"\n", b"\r\n") for r in ROWS)], 5, 0),
    "bom_and_spaces_in_header": case([b"\xef\xbb\xbf Id , PATIENT ,DESCRIPTION \n", *ROWS],
                                     5, 0),
    "blank_lines": case([HEADER, ROWS[0], b"\n", *ROWS[1:3], b"\n", *ROWS[3:]], 5, 0),
    "ragged_row": case([HEADER, *ROWS[:2], b"e3,p3\n", *ROWS[3:]], 4, 1),
    "latin1_byte": case([HEADER, *ROWS[:3], b"e4,p4,caf\xe9\n", ROWS[4]], 4, 1),
    "nul_byte": case([HEADER, *ROWS[:1], b"e2,p2,vis\x00it\n", *ROWS[2:]], 4, 1),
    "no_final_newline": case([HEADER, *ROWS[:4], ROWS[4].rstrip(b"\n")], 5, 0),
    "header_only": case([HEADER], 0, 0),
    "duplicate_header": case([b"Id,PATIENT,PATIENT\n", *ROWS], 0, 0, refused=True),
    "empty_file": case([], 0, 0, refused=True),
    "utf16_with_bom": case([b"".join([HEADER, *ROWS]).decode().encode("utf-16")], 0, 0,
                           refused=True),
    "utf16le_without_bom": case([b"".join([HEADER, *ROWS]).decode().encode("utf-16-le")], 0, 0,
                                refused=True),
}


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    expected = {}
    for name, (data, facts) in CASES.items():
        (HERE / f"{name}.csv").write_bytes(data)
        expected[name] = facts
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n",
                                        encoding="utf-8")


if __name__ == "__main__":
    main()
