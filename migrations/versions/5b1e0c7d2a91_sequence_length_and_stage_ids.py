"""analysis.sequence_length (was requested_frames); stages stored as Stage values

Revision ID: 5b1e0c7d2a91
Revises: 2043c8f75539
Create Date: 2026-12-01 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e0c7d2a91'
down_revision = '2043c8f75539'
branch_labels = None
depends_on = None

# The words the previous release stored, and the Stage value each becomes.
STAGES = {
    "waiting in the queue": "queued",
    "waiting in the queue (retrying: the worker stopped)": "retrying",
    "starting": "starting",
    "loading the model": "loading_model",
    "reading the video": "reading_video",
    "finding faces": "finding_faces",
    "running the model": "running_model",
    "saving the result": "done",
}


def _map_stages(mapping):
    analysis = sa.table("analysis", sa.column("stage", sa.String))
    for old, new in mapping.items():
        op.execute(analysis.update().where(analysis.c.stage == old).values(stage=new))


def upgrade():
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.alter_column('requested_frames', new_column_name='sequence_length',
                              existing_type=sa.Integer(), existing_nullable=False)
    _map_stages(STAGES)


def downgrade():
    _map_stages({new: old for old, new in STAGES.items()})
    with op.batch_alter_table('analysis', schema=None) as batch_op:
        batch_op.alter_column('sequence_length', new_column_name='requested_frames',
                              existing_type=sa.Integer(), existing_nullable=False)
