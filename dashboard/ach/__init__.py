"""Payroll batches: a payroll CSV read, checked and paid through Hong Kong ACH."""
