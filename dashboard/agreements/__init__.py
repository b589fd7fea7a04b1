"""Antom Auto Debit agreements: models and the state machine (views and services come later)."""
