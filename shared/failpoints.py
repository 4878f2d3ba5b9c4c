"""Failpoints: named places where a fault test makes a process die on purpose, at a moment no
signal from outside could hit reliably.

`PROCURE_FAILPOINTS="relay.after_publish=3"` makes the process exit at once, like kill -9, the
third time it passes that point. Unset (always, outside fault tests) `hit` does nothing.
"""

import os
from collections import Counter


def _plan(spec: str) -> dict[str, int]:
    points = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, count = item.partition("=")
        points[name] = int(count or 1)
    return points


_PLAN = _plan(os.environ.get("PROCURE_FAILPOINTS", ""))
_passed: Counter[str] = Counter()


def hit(name: str) -> None:
    if name not in _PLAN:
        return
    _passed[name] += 1
    if _passed[name] == _PLAN[name]:
        os._exit(137)
