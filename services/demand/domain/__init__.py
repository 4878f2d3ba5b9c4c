"""The demand service's rules, as pure functions (no I/O)."""
