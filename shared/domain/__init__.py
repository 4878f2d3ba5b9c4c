"""The pure rules every service's domain may use: money arithmetic, the ranges of every field,
units and categories, and the kinds of domain error. Standard library only
(tests/unit/test_layers.py)."""
