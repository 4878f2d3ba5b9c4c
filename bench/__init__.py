"""The benchmark harness of issue 7: `make bench` (or `python -m bench [figure ...]`).

It starts the embedded broker and PostgreSQL and the three services as separate processes, as
`procure up` does, measures each figure against its target (Kafka figures as ratios to a raw
aiokafka baseline measured in the same run), checks exact counts after each run, and writes
bench/RESULTS.md.
"""
