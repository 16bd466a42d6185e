"""SQLAlchemy tables of the grid directory (SQLAlchemy 1.4, 2.0 style).

Every entity is keyed by its code, so an import upserts with `session.get()`.
Children (aliases, accounts, opening hours, coverage) belong to their parent and
are replaced with it. Tables carry the `grid_` prefix because the directory shares
its database with other features; the schema itself is created by the Alembic
migrations in `grids/migrations`, never by `create_all` outside tests.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import relationship

from core.db import declarative_base

Base: Any = declarative_base()
metadata = Base.metadata


CODE = 32


class StreetRow(Base):
    __tablename__ = "grid_streets"
    code = Column(String(CODE), primary_key=True)
    name = Column(String(64), nullable=False)
    district = Column(String(64), nullable=False)


class CommunityRow(Base):
    __tablename__ = "grid_communities"
    code = Column(String(CODE), primary_key=True)
    name = Column(String(64), nullable=False)
    street_code = Column(String(CODE), ForeignKey("grid_streets.code"), nullable=False,
                         index=True)


class EstateRow(Base):
    __tablename__ = "grid_estates"
    code = Column(String(CODE), primary_key=True)
    name = Column(String(64), nullable=False, index=True)
    community_code = Column(String(CODE), ForeignKey("grid_communities.code"), nullable=False,
                            index=True)
    buildings = Column(JSON, nullable=False, default=list)
    aliases = relationship("EstateAliasRow", cascade="all, delete-orphan",
                           order_by="EstateAliasRow.position", lazy="selectin")


class EstateAliasRow(Base):
    __tablename__ = "grid_estate_aliases"
    estate_code = Column(String(CODE), ForeignKey("grid_estates.code", ondelete="CASCADE"),
                         primary_key=True)
    alias = Column(String(64), primary_key=True)
    position = Column(Integer, nullable=False, default=0)


class CoordinatorRow(Base):
    __tablename__ = "grid_coordinators"
    code = Column(String(CODE), primary_key=True)
    name = Column(String(32), nullable=False)
    phone = Column(String(32), nullable=False)
    accounts = relationship("CoordinatorAccountRow", cascade="all, delete-orphan",
                            order_by="CoordinatorAccountRow.platform", lazy="selectin")


class CoordinatorAccountRow(Base):
    __tablename__ = "grid_coordinator_accounts"
    coordinator_code = Column(String(CODE),
                              ForeignKey("grid_coordinators.code", ondelete="CASCADE"),
                              primary_key=True)
    platform = Column(String(16), primary_key=True)
    account_id = Column(String(128), nullable=False)


class OfficeRow(Base):
    __tablename__ = "grid_offices"
    code = Column(String(CODE), primary_key=True)
    name = Column(String(128), nullable=False)
    level = Column(String(16), nullable=False)
    address = Column(String(256), nullable=False)
    phone = Column(String(32), nullable=False)
    services = Column(JSON, nullable=False, default=list)
    street_code = Column(String(CODE), ForeignKey("grid_streets.code"), nullable=True)
    community_code = Column(String(CODE), ForeignKey("grid_communities.code"), nullable=True)
    latitude = Column(Float, nullable=True)
    longitude = Column(Float, nullable=True)
    hours = relationship("OfficeHoursRow", cascade="all, delete-orphan",
                         order_by="(OfficeHoursRow.weekday, OfficeHoursRow.position)",
                         lazy="selectin")


class OfficeHoursRow(Base):
    __tablename__ = "grid_office_hours"
    office_code = Column(String(CODE), ForeignKey("grid_offices.code", ondelete="CASCADE"),
                         primary_key=True)
    weekday = Column(Integer, primary_key=True)  # 0 = Monday
    position = Column(Integer, primary_key=True)
    opens = Column(String(5), nullable=False)
    closes = Column(String(5), nullable=False)


class GridRow(Base):
    __tablename__ = "grid_grids"
    code = Column(String(CODE), primary_key=True)
    name = Column(String(64), nullable=False)
    community_code = Column(String(CODE), ForeignKey("grid_communities.code"), nullable=False,
                            index=True)
    coordinator_code = Column(String(CODE), ForeignKey("grid_coordinators.code"),
                              nullable=True)
    office_code = Column(String(CODE), ForeignKey("grid_offices.code"), nullable=False)
    coverage = relationship("CoverageRow", cascade="all, delete-orphan",
                            order_by="CoverageRow.position", lazy="selectin")


class CoverageRow(Base):
    __tablename__ = "grid_coverage"
    grid_code = Column(String(CODE), ForeignKey("grid_grids.code", ondelete="CASCADE"),
                       primary_key=True)
    estate_code = Column(String(CODE), ForeignKey("grid_estates.code"), primary_key=True,
                         index=True)
    position = Column(Integer, nullable=False, default=0)
    buildings = Column(JSON, nullable=False, default=list)  # empty: the whole estate


class ChatGroupRow(Base):
    __tablename__ = "grid_chat_groups"
    platform = Column(String(16), primary_key=True)
    external_id = Column(String(128), primary_key=True)
    name = Column(String(128), nullable=False)
    grid_code = Column(String(CODE), ForeignKey("grid_grids.code"), nullable=False, index=True)
    send_via = Column(String(16), nullable=False)
    send_target = Column(Text, nullable=False)


class MetaRow(Base):
    """Key/value facts about the directory; `revision` grows with every import."""

    __tablename__ = "grid_meta"
    key = Column(String(32), primary_key=True)
    value = Column(Text, nullable=False)
