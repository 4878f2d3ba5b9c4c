"""Broker and database for a run: given by the environment, embedded, or in containers."""
