"""Persistence: the config store, the logs store and encryption at rest.

One SQLAlchemy Core implementation for SQLite (the embedded default, WAL) and PostgreSQL
(asyncpg); migrations by Alembic, run under a lock. The engine and the server use these through
small protocols (`base.py`); nothing here imports the engine or the server.
"""
