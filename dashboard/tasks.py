"""Import every domain's jobs and sweepers so ``create_app`` can bind them."""

from dashboard.ach import tasks as ach_tasks
from dashboard.agreements import tasks as agreements_tasks
from dashboard.api import tasks as api_tasks
from dashboard.audit import tasks as audit_tasks
from dashboard.declarations import tasks as declarations_tasks
from dashboard.notifications import tasks as notifications_tasks
from dashboard.payments import tasks as payments_tasks
from dashboard.settlements import tasks as settlements_tasks

__all__ = [
    "ach_tasks",
    "agreements_tasks",
    "api_tasks",
    "audit_tasks",
    "declarations_tasks",
    "notifications_tasks",
    "payments_tasks",
    "settlements_tasks",
]
