"""Settlement: what providers say they settled, imported and reconciled against our own records."""
