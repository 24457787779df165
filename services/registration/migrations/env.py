from services.registration import db
from shared.migrations import run_migrations

run_migrations("registration", db.TABLES)
