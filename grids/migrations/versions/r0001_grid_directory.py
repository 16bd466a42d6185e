"""Grid directory: streets, communities, estates, grids, coordinators, offices, groups.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('grid_coordinators',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_grid_coordinators'))
    )
    op.create_table('grid_meta',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_grid_meta'))
    )
    op.create_table('grid_streets',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('district', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_grid_streets'))
    )
    op.create_table('grid_communities',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('street_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['street_code'], ['grid_streets.code'], name=op.f('fk_grid_communities_street_code_grid_streets')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_grid_communities'))
    )
    op.create_index(op.f('ix_grid_communities_street_code'), 'grid_communities', ['street_code'], unique=False)
    op.create_table('grid_coordinator_accounts',
    sa.Column('coordinator_code', sa.String(length=32), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('account_id', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['coordinator_code'], ['grid_coordinators.code'], name=op.f('fk_grid_coordinator_accounts_coordinator_code_grid_coordinators'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('coordinator_code', 'platform', name=op.f('pk_grid_coordinator_accounts'))
    )
    op.create_table('grid_estates',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('community_code', sa.String(length=32), nullable=False),
    sa.Column('buildings', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['community_code'], ['grid_communities.code'], name=op.f('fk_grid_estates_community_code_grid_communities')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_grid_estates'))
    )
    op.create_index(op.f('ix_grid_estates_community_code'), 'grid_estates', ['community_code'], unique=False)
    op.create_index(op.f('ix_grid_estates_name'), 'grid_estates', ['name'], unique=False)
    op.create_table('grid_offices',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=256), nullable=False),
    sa.Column('phone', sa.String(length=32), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('street_code', sa.String(length=32), nullable=True),
    sa.Column('community_code', sa.String(length=32), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['community_code'], ['grid_communities.code'], name=op.f('fk_grid_offices_community_code_grid_communities')),
    sa.ForeignKeyConstraint(['street_code'], ['grid_streets.code'], name=op.f('fk_grid_offices_street_code_grid_streets')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_grid_offices'))
    )
    op.create_table('grid_estate_aliases',
    sa.Column('estate_code', sa.String(length=32), nullable=False),
    sa.Column('alias', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['estate_code'], ['grid_estates.code'], name=op.f('fk_grid_estate_aliases_estate_code_grid_estates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('estate_code', 'alias', name=op.f('pk_grid_estate_aliases'))
    )
    op.create_table('grid_grids',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('community_code', sa.String(length=32), nullable=False),
    sa.Column('coordinator_code', sa.String(length=32), nullable=True),
    sa.Column('office_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['community_code'], ['grid_communities.code'], name=op.f('fk_grid_grids_community_code_grid_communities')),
    sa.ForeignKeyConstraint(['coordinator_code'], ['grid_coordinators.code'], name=op.f('fk_grid_grids_coordinator_code_grid_coordinators')),
    sa.ForeignKeyConstraint(['office_code'], ['grid_offices.code'], name=op.f('fk_grid_grids_office_code_grid_offices')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_grid_grids'))
    )
    op.create_index(op.f('ix_grid_grids_community_code'), 'grid_grids', ['community_code'], unique=False)
    op.create_table('grid_office_hours',
    sa.Column('office_code', sa.String(length=32), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('opens', sa.String(length=5), nullable=False),
    sa.Column('closes', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['office_code'], ['grid_offices.code'], name=op.f('fk_grid_office_hours_office_code_grid_offices'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('office_code', 'weekday', 'position', name=op.f('pk_grid_office_hours'))
    )
    op.create_table('grid_chat_groups',
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('grid_code', sa.String(length=32), nullable=False),
    sa.Column('send_via', sa.String(length=16), nullable=False),
    sa.Column('send_target', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['grid_code'], ['grid_grids.code'], name=op.f('fk_grid_chat_groups_grid_code_grid_grids')),
    sa.PrimaryKeyConstraint('platform', 'external_id', name=op.f('pk_grid_chat_groups'))
    )
    op.create_index(op.f('ix_grid_chat_groups_grid_code'), 'grid_chat_groups', ['grid_code'], unique=False)
    op.create_table('grid_coverage',
    sa.Column('grid_code', sa.String(length=32), nullable=False),
    sa.Column('estate_code', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('buildings', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['estate_code'], ['grid_estates.code'], name=op.f('fk_grid_coverage_estate_code_grid_estates')),
    sa.ForeignKeyConstraint(['grid_code'], ['grid_grids.code'], name=op.f('fk_grid_coverage_grid_code_grid_grids'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('grid_code', 'estate_code', name=op.f('pk_grid_coverage'))
    )
    op.create_index(op.f('ix_grid_coverage_estate_code'), 'grid_coverage', ['estate_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_grid_coverage_estate_code'), table_name='grid_coverage')
    op.drop_table('grid_coverage')
    op.drop_index(op.f('ix_grid_chat_groups_grid_code'), table_name='grid_chat_groups')
    op.drop_table('grid_chat_groups')
    op.drop_table('grid_office_hours')
    op.drop_index(op.f('ix_grid_grids_community_code'), table_name='grid_grids')
    op.drop_table('grid_grids')
    op.drop_table('grid_estate_aliases')
    op.drop_table('grid_offices')
    op.drop_index(op.f('ix_grid_estates_name'), table_name='grid_estates')
    op.drop_index(op.f('ix_grid_estates_community_code'), table_name='grid_estates')
    op.drop_table('grid_estates')
    op.drop_table('grid_coordinator_accounts')
    op.drop_index(op.f('ix_grid_communities_street_code'), table_name='grid_communities')
    op.drop_table('grid_communities')
    op.drop_table('grid_streets')
    op.drop_table('grid_meta')
    op.drop_table('grid_coordinators')
