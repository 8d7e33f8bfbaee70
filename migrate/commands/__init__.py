"""Commands of ``emr-migrate`` that live in their own module (cli.py registers each)."""

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
