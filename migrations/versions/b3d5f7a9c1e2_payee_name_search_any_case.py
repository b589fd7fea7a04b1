"""Payroll items: the payee-name search in any case, through an upper(payee_name) index

Revision ID: b3d5f7a9c1e2
Revises: a3c5e7f9b1d2
Create Date: 2026-11-29 20:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3d5f7a9c1e2'
down_revision = 'a3c5e7f9b1d2'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_ach_items_payee_name', table_name='ach_items')
    op.create_index('ix_ach_items_payee_name_upper', 'ach_items', [sa.text('upper(payee_name)')], unique=False)


def downgrade():
    op.drop_index('ix_ach_items_payee_name_upper', table_name='ach_items')
    op.create_index('ix_ach_items_payee_name', 'ach_items', ['payee_name'], unique=False)
