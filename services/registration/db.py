"""Registration's tables."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Column, DateTime, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel


class Patient(SQLModel, table=True):
    __tablename__ = "patient"

    patient_id: UUID = Field(primary_key=True)
    mrn: str = Field(max_length=30, unique=True)
    version: int = 1
    content: dict = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )
    updated_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    )


TABLES = ("patient",)
