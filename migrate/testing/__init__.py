"""Contract tests a plugin author runs against their plugin (``pytest`` is imported here only).

Subclass a contract in your test module and give it the fixture it asks for; every built-in
extractor and target passes the same tests (tests/testing/)::

    from migrate.testing import ExtractorContract

    class TestMyExtractor(ExtractorContract):
        @pytest.fixture
        def source(self, tmp_path):
            write_my_source(tmp_path, self.table, self.rows)   # the kit's small table
            return "my-source", {"path": str(tmp_path)}       # kind and options

See `ExtractorContract` and `LoaderContract` for what each checks.
"""

from migrate.testing.extractor import ExtractorContract
from migrate.testing.loader import LoaderContract

__all__ = ["ExtractorContract", "LoaderContract"]
