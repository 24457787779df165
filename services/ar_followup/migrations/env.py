from services.ar_followup import db
from shared.migrations import run_migrations

run_migrations("ar_followup", db.TABLES)
