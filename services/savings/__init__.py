"""Savings service: keeps the per-school savings ledger and its read models."""
