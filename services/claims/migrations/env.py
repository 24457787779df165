from services.claims import db
from shared.migrations import run_migrations

run_migrations("claims", db.TABLES)
