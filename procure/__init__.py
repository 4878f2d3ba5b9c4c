"""The composition root: the `procure` command, the launcher of the whole system, its demo,
and the broker and database it provisions. It may import every service; nothing imports it
but tests and benchmarks."""
