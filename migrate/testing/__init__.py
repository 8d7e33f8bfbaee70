"""Contract tests a plugin author runs against their plugin (``pytest`` is imported here only).

Subclass a contract in your test module and give it the fixture it asks for; every built-in
extractor and target passes the same tests (tests/testing/)::

    from migrate.testing import ExtractorContract

    class TestMyExtractor(ExtractorContract):
        @pytest.fixture
        def source(self, tmp_path):
            write_my_source(tmp_path, self.table, self.rows)   # the kit's small table
            return "my-source", {"path": str(tmp_path)}       # kind and options

See `ExtractorContract` and `LoaderContract` for what each checks. A plugin that declares a
capability with a contract of its own adds that contract to its test class's bases
(`IncrementalContract`, `QueriesContract`, `FileTargetContract` for targets writing files);
the base contract fails when one is missing, and checks that undeclared capabilities refuse.
"""

from migrate.testing.extractor import ExtractorContract, IncrementalContract, QueriesContract
from migrate.testing.loader import FileTargetContract, LoaderContract

__all__ = ["ExtractorContract", "FileTargetContract", "IncrementalContract", "LoaderContract",
           "QueriesContract"]
