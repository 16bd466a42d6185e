"""Knowledge base: answers, versions, fields, examples, triage, audit, state (one row).

Revision ID: k0001
Revises:
Create Date: 2026-12-01 13:44:31.503654
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'k0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kb_answers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('topic', sa.String(length=32), nullable=True),
    sa.Column('source_file', sa.String(length=128), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('variations', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('edited', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('updated_by', sa.String(length=160), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_answers')),
    sa.UniqueConstraint('name', name=op.f('uq_kb_answers_name'))
    )
    with op.batch_alter_table('kb_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_answers_topic'), ['topic'], unique=False)

    op.create_table('kb_audit',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('actor', sa.String(length=160), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=160), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_audit'))
    )
    with op.batch_alter_table('kb_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_audit_at'), ['at'], unique=False)

    op.create_table('kb_examples',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('topic', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=160), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('trained_at', sa.Float(), nullable=True),
    sa.Column('source_kind', sa.String(length=16), nullable=True),
    sa.Column('source_id', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_examples'))
    )
    with op.batch_alter_table('kb_examples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_examples_status'), ['status'], unique=False)

    op.create_table('kb_fields',
    sa.Column('key', sa.String(length=48), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('fallback', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.Float(), nullable=False),
    sa.Column('updated_by', sa.String(length=160), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_kb_fields'))
    )
    op.create_table('kb_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('trained_at', sa.Float(), nullable=True),
    sa.Column('trained_model', sa.String(length=160), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_state'))
    )
    state = sa.table("kb_state", sa.column("id", sa.Integer()), sa.column("revision", sa.Integer()))
    op.bulk_insert(state, [{"id": 1, "revision": 0}])
    op.create_table('kb_triage',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.String(length=128), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.String(length=160), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('example_id', sa.Integer(), nullable=True),
    sa.Column('response', sa.String(length=128), nullable=True),
    sa.ForeignKeyConstraint(['example_id'], ['kb_examples.id'], name=op.f('fk_kb_triage_example_id_kb_examples')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_triage'))
    )
    with op.batch_alter_table('kb_triage', schema=None) as batch_op:
        batch_op.create_index('ix_kb_triage_source', ['source_kind', 'source_id'], unique=False)

    op.create_table('kb_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('old_variations', sa.JSON(), nullable=True),
    sa.Column('new_variations', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=160), nullable=False),
    sa.Column('at', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['kb_answers.id'], name=op.f('fk_kb_versions_answer_id_kb_answers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_versions'))
    )
    with op.batch_alter_table('kb_versions', schema=None) as batch_op:
        batch_op.create_index('ix_kb_versions_answer', ['answer_id', 'number'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('kb_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_versions_answer')

    op.drop_table('kb_versions')
    with op.batch_alter_table('kb_triage', schema=None) as batch_op:
        batch_op.drop_index('ix_kb_triage_source')

    op.drop_table('kb_triage')
    op.drop_table('kb_state')
    op.drop_table('kb_fields')
    with op.batch_alter_table('kb_examples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_examples_status'))

    op.drop_table('kb_examples')
    with op.batch_alter_table('kb_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_audit_at'))

    op.drop_table('kb_audit')
    with op.batch_alter_table('kb_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kb_answers_topic'))

    op.drop_table('kb_answers')
