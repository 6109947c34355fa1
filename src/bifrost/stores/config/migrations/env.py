"""Alembic environment of the config store: run on the connection `run_migrations` passes in."""

from alembic import context

from bifrost.stores.migrate import run_env

run_env(context)
