from services.payments import db
from shared.migrations import run_migrations

run_migrations("payments", db.TABLES)
