"""`emr-migrate scaffold`: a starter pack for a source never seen before.

profile (`profile.py`: the `emr-migrate profile` profiler, streamed, bounded) -> analyse
(`analyse.py`, `columns.py`: keys, foreign keys, dictionaries, types, resources) -> render
(`render.py`; `elements.py` picks the columns a template reads, `templates.py` writes the
valid starter template of each resource, `yamltext.py` writes names) and write (`write.py`).
Start with `scaffold`.
"""

from migrate.scaffold.write import ScaffoldResult, scaffold

__all__ = ["ScaffoldResult", "scaffold"]
