"""Database access: engine, session factory, models, migrations."""
