"""Antom Auto Debit agreements: model, states, service, token and revoke jobs, list and detail pages."""
