"""SQL storage (SQLAlchemy 2 Core): one schema for SQLite and PostgreSQL."""
