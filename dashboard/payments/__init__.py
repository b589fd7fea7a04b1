"""Payments, refunds and cancels: models and state machines (views and services come later)."""
