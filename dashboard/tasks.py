"""Import every domain's jobs and sweepers so ``create_app`` can bind them."""

from dashboard.agreements import tasks as agreements_tasks
from dashboard.notifications import tasks as notifications_tasks
from dashboard.payments import tasks as payments_tasks

__all__ = ["agreements_tasks", "notifications_tasks", "payments_tasks"]
