"""Pure savings rules: the per-school ledger figures and their totals."""
