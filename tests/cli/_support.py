"""Running the real console entry point in a child process, with its own home and nothing else.

One runner for every CLI test: tests/hostile.py's `run_cli` (loaded by tests/conftest.py as
`keelwatch_test_hostile`).
"""

from __future__ import annotations

import sys

run_cli = sys.modules["keelwatch_test_hostile"].run_cli
