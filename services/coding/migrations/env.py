from services.coding import db
from shared.migrations import run_migrations

run_migrations("coding", db.TABLES)
