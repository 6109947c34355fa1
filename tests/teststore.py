"""A throwaway store package (Alembic env.py + two revisions) for migration and doctor tests.

The real store packages live on other branches; tests register this one in `registry.STORES`.
"""

from __future__ import annotations

import secrets
import textwrap
from pathlib import Path

ENV_PY = "from alembic import context\n\nfrom bifrost.stores.migrate import run_env\n\nrun_env(context)\n"
REV1 = '''
import sqlalchemy as sa
from alembic import op

revision = "0001_widgets"
down_revision = None


def upgrade() -> None:
    op.create_table("widgets", sa.Column("id", sa.Integer, primary_key=True))
'''
REV2 = '''
import sqlalchemy as sa
from alembic import op

revision = "0002_widget_name"
down_revision = "0001_widgets"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT pg_sleep(1)")  # hold the lock long enough for a second process to queue behind it
    op.add_column("widgets", sa.Column("name", sa.String(50)))
'''



def make_store_pkg(root: Path) -> str:
    """Write package `bf_teststore_<random>` under root; returns its name (put root on sys.path)."""
    name = "bf_teststore_" + secrets.token_hex(4)
    pkg = root / name
    (pkg / "migrations" / "versions").mkdir(parents=True)
    (pkg / "__init__.py").write_text(textwrap.dedent('''
        from pathlib import Path

        MIGRATIONS = Path(__file__).parent / "migrations"
        VERSION_TABLE = "bf_test_migrations"
        DEFAULT_FILE = "test-store.db"
    '''))
    (pkg / "migrations" / "env.py").write_text(ENV_PY)
    (pkg / "migrations" / "versions" / "0001_widgets.py").write_text(REV1)
    (pkg / "migrations" / "versions" / "0002_widget_name.py").write_text(REV2)
    return name
