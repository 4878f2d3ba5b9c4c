"""The demand service's own Prometheus metrics (served with the shared ones at /metrics)."""

from prometheus_client import Counter

SUBMISSIONS = Counter(
    "procure_demand_submissions_total",
    # Counted as processed: a Kafka batch read again after a failure counts again.
    "Demand submissions processed, by channel (http, csv, kafka) and outcome",
    ["channel", "outcome"],
)

SPEND = Counter(
    "procure_demand_spend_total",
    # Counted as processed, as SUBMISSIONS is.
    "Spend lines processed, by channel (http, csv, kafka) and outcome",
    ["channel", "outcome"],
)
