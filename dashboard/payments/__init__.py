"""Payments, refunds and cancels: models, states, service, inquiry jobs, list and detail pages."""
