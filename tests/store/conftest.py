"""Store fixtures (SQLite and PostgreSQL) from tests/store/dbfixtures.py."""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "keelwatch_test_dbfixtures", Path(__file__).resolve().parent.parent / "store" / "dbfixtures.py"
)
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
store_url = _mod.store_url
store = _mod.store
