"""Import every domain's jobs and sweepers so ``create_app`` can bind them."""

from dashboard.ach import tasks as ach_tasks
from dashboard.agreements import tasks as agreements_tasks
from dashboard.api import tasks as api_tasks
from dashboard.notifications import tasks as notifications_tasks
from dashboard.payments import tasks as payments_tasks

__all__ = ["ach_tasks", "agreements_tasks", "api_tasks", "notifications_tasks", "payments_tasks"]
