"""Demand service: the trusts' schools registry and the schools' demand lines."""
