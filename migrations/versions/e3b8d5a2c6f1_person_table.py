"""person: every person scored in an analysis (number, frames seen, score, verdict, boxes)

Revision ID: e3b8d5a2c6f1
Revises: c7e4a9d1f0b3
Create Date: 2026-12-02 00:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3b8d5a2c6f1'
down_revision = 'c7e4a9d1f0b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('analysis_id', sa.String(length=32), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('frames_seen', sa.Integer(), nullable=False),
    sa.Column('p_fake', sa.Float(), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('boxes', sa.JSON(), nullable=False),
    sa.Column('thumbnail', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.ForeignKeyConstraint(['analysis_id'], ['analysis.id'], name='fk_person_analysis', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('analysis_id', 'number', name='uq_person_number')
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_analysis_id'), ['analysis_id'], unique=False)


def downgrade():
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_analysis_id'))

    op.drop_table('person')
