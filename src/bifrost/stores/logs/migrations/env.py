"""Alembic environment for the logs store: runs on the connection bifrost.stores.migrate passes in."""

from alembic import context

from bifrost.stores.migrate import run_env

run_env(context)
