"""analysis.reproduces: the analysis a reproduction re-runs (same checkpoint by SHA-256)

Revision ID: f1a6c3d8b2e4
Revises: e3b8d5a2c6f1
Create Date: 2026-12-02 01:15:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1a6c3d8b2e4'
down_revision = 'e3b8d5a2c6f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reproduces', sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_analysis_reproduces'), ['reproduces'], unique=False)


def downgrade():
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_reproduces'))
        batch_op.drop_column('reproduces')
