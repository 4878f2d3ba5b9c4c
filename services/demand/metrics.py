"""The demand service's own Prometheus metrics (served with the shared ones at /metrics)."""

from prometheus_client import Counter

SUBMISSIONS = Counter(
    "procure_demand_submissions_total",
    # Counted as processed: a Kafka batch read again after a failure counts again.
    "Demand submissions processed, by channel (http, csv, kafka) and outcome",
    ["channel", "outcome"],
)
