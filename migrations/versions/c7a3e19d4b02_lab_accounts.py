"""lab accounts: user_account, api_token, audit_event; analysis.owner_id, shared, file_removed_at

The migration creates the first administrator, ``admin``, without a password (it cannot
sign in until ``deepfake-web users passwd admin``), and every analysis already stored
becomes its own (private, as before only one identity existed).

Revision ID: c7a3e19d4b02
Revises: a41314fa2585
Create Date: 2026-12-01 18:40:00

"""
import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7a3e19d4b02'
down_revision = 'a41314fa2585'
branch_labels = None
depends_on = None

FIRST_ADMIN = "admin"


def upgrade():
    users = op.create_table(
        'user_account',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=True),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('session_nonce', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name', name='uq_user_account_name'),
    )
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name='fk_api_token_user'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash', name='uq_api_token_token_hash'),
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)
    op.create_table(
        'audit_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('client', sa.String(length=64), nullable=True),
        sa.Column('subject', sa.String(length=128), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_actor'), ['actor'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_subject'), ['subject'], unique=False)
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('shared', sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column('file_removed_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f('ix_analysis_owner_id'), ['owner_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_analysis_owner', 'user_account', ['owner_id'], ['id']
        )

    # The first administrator owns everything made before accounts.
    op.bulk_insert(users, [{
        'name': FIRST_ADMIN, 'password_hash': None, 'role': 'admin', 'active': True,
        'session_nonce': secrets.token_hex(8), 'created_at': datetime.now(timezone.utc),
    }])
    bind = op.get_bind()
    admin_id = bind.execute(
        sa.text("SELECT id FROM user_account WHERE name = :name"), {"name": FIRST_ADMIN}
    ).scalar_one()
    bind.execute(sa.text("UPDATE analysis SET owner_id = :id"), {"id": admin_id})


def downgrade():
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.drop_constraint('fk_analysis_owner', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_analysis_owner_id'))
        batch_op.drop_column('file_removed_at')
        batch_op.drop_column('shared')
        batch_op.drop_column('owner_id')
    op.drop_table('audit_event')
    op.drop_table('api_token')
    op.drop_table('user_account')
