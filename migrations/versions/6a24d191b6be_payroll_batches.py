"""Payroll batches: the uploaded file, its items (one per payee row) and its requests to HK ACH

Revision ID: 6a24d191b6be
Revises: a7c2e9d4f1b6
Create Date: 2026-11-29 19:39:34

"""
from alembic import op
import sqlalchemy as sa

import dashboard.db


# revision identifiers, used by Alembic.
revision = '6a24d191b6be'
down_revision = 'a7c2e9d4f1b6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ach_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('encoding', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('debtor_account', sa.String(length=34), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('warning_count', sa.Integer(), nullable=False),
    sa.Column('file_problems', sa.JSON(), nullable=False),
    sa.Column('uploaded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('submitted_for_approval_at', dashboard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('warnings_acknowledged_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('warnings_acknowledged_at', dashboard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', dashboard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.String(length=1000), nullable=True),
    sa.Column('duplicate_reason', sa.String(length=500), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('final_count', sa.Integer(), nullable=False),
    sa.Column('paid_count', sa.Integer(), nullable=False),
    sa.Column('paid_minor', sa.BigInteger(), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('result_code', sa.String(length=64), nullable=True),
    sa.Column('result_message', sa.String(length=256), nullable=True),
    sa.Column('created_at', dashboard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dashboard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'awaiting_approval', 'approved', 'submitting', 'processing', 'completed', 'completed_with_failures', 'failed', 'discarded', 'rejected')", name=op.f('ck_ach_batches_status_valid')),
    sa.CheckConstraint('decided_by_id IS NULL OR uploaded_by_id IS NULL OR decided_by_id <> uploaded_by_id', name=op.f('ck_ach_batches_not_self_approved')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_ach_batches_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_ach_batches_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['warnings_acknowledged_by_id'], ['users.id'], name=op.f('fk_ach_batches_warnings_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ach_batches')),
    sa.UniqueConstraint('reference', name=op.f('uq_ach_batches_reference'))
    )
    with op.batch_alter_table('ach_batches', schema=None) as batch_op:
        batch_op.create_index('ix_ach_batches_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_ach_batches_sha256', ['sha256'], unique=False)
        batch_op.create_index('ix_ach_batches_status_created_at_id', ['status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_ach_batches_status_submitted_for_approval_at_id', ['status', 'submitted_for_approval_at', 'id'], unique=False)
        batch_op.create_index('ix_ach_batches_uploaded_by_id_created_at_id', ['uploaded_by_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_ach_batches_value_date', ['value_date'], unique=False)

    op.create_table('ach_submissions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('first_row', sa.Integer(), nullable=False),
    sa.Column('last_row', sa.Integer(), nullable=False),
    sa.Column('item_count', sa.Integer(), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('group_status', sa.String(length=16), nullable=True),
    sa.Column('sent_at', dashboard.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('polls', sa.Integer(), nullable=False),
    sa.Column('result_code', sa.String(length=64), nullable=True),
    sa.Column('result_message', sa.String(length=256), nullable=True),
    sa.Column('created_at', dashboard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', dashboard.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'submitted', 'received', 'completed', 'completed_with_failures', 'rejected', 'failed')", name=op.f('ck_ach_submissions_status_valid')),
    sa.ForeignKeyConstraint(['batch_id'], ['ach_batches.id'], name=op.f('fk_ach_submissions_batch_id_ach_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ach_submissions')),
    sa.UniqueConstraint('batch_id', 'number', name='uq_ach_submissions_batch_id_number'),
    sa.UniqueConstraint('message_id', name=op.f('uq_ach_submissions_message_id')),
    sa.UniqueConstraint('reference', name=op.f('uq_ach_submissions_reference'))
    )
    with op.batch_alter_table('ach_submissions', schema=None) as batch_op:
        batch_op.create_index('ix_ach_submissions_status_updated_at', ['status', 'updated_at'], unique=False)

    op.create_table('ach_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('employee_id', sa.String(length=64), nullable=False),
    sa.Column('payee_name', sa.String(length=200), nullable=False),
    sa.Column('payee_name_zh', sa.String(length=200), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('bank_code', sa.String(length=16), nullable=False),
    sa.Column('branch_code', sa.String(length=16), nullable=False),
    sa.Column('account_number', sa.String(length=64), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('instruction_id', sa.String(length=20), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('has_error', sa.Boolean(), nullable=False),
    sa.Column('has_warning', sa.Boolean(), nullable=False),
    sa.Column('submission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason_code', sa.String(length=16), nullable=True),
    sa.Column('reason_text', sa.String(length=256), nullable=True),
    sa.Column('final_at', dashboard.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('valid', 'invalid', 'received', 'accepted', 'pending', 'paid', 'rejected')", name=op.f('ck_ach_items_status_valid')),
    sa.ForeignKeyConstraint(['batch_id'], ['ach_batches.id'], name=op.f('fk_ach_items_batch_id_ach_batches'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['ach_submissions.id'], name=op.f('fk_ach_items_submission_id_ach_submissions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ach_items')),
    sa.UniqueConstraint('batch_id', 'row_number', name='uq_ach_items_batch_id_row_number')
    )
    with op.batch_alter_table('ach_items', schema=None) as batch_op:
        batch_op.create_index('ix_ach_items_account_number', ['account_number'], unique=False)
        batch_op.create_index('ix_ach_items_batch_id_has_error_has_warning_row_number', ['batch_id', 'has_error', 'has_warning', 'row_number'], unique=False)
        batch_op.create_index('ix_ach_items_batch_id_status_row_number', ['batch_id', 'status', 'row_number'], unique=False)
        batch_op.create_index('ix_ach_items_employee_id', ['employee_id'], unique=False)
        batch_op.create_index('ix_ach_items_payee_name', ['payee_name'], unique=False)



def downgrade():
    with op.batch_alter_table('ach_items', schema=None) as batch_op:
        batch_op.drop_index('ix_ach_items_payee_name')
        batch_op.drop_index('ix_ach_items_employee_id')
        batch_op.drop_index('ix_ach_items_batch_id_status_row_number')
        batch_op.drop_index('ix_ach_items_batch_id_has_error_has_warning_row_number')
        batch_op.drop_index('ix_ach_items_account_number')

    op.drop_table('ach_items')
    with op.batch_alter_table('ach_submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_ach_submissions_status_updated_at')

    op.drop_table('ach_submissions')
    with op.batch_alter_table('ach_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_ach_batches_value_date')
        batch_op.drop_index('ix_ach_batches_uploaded_by_id_created_at_id')
        batch_op.drop_index('ix_ach_batches_status_submitted_for_approval_at_id')
        batch_op.drop_index('ix_ach_batches_status_created_at_id')
        batch_op.drop_index('ix_ach_batches_sha256')
        batch_op.drop_index('ix_ach_batches_created_at_id')

    op.drop_table('ach_batches')
