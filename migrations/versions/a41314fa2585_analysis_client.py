"""analysis.client: the address that asked, for each client's share of the queue

Revision ID: a41314fa2585
Revises: 5b1e0c7d2a91
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a41314fa2585'
down_revision = '5b1e0c7d2a91'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_analysis_client'), ['client'], unique=False)


def downgrade():
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_client'))
        batch_op.drop_column('client')
