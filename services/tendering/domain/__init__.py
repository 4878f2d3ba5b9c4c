"""Pure tendering rules: pooling, opening, lots, route, price tiers, bidding (deadline, sealed
bids), evaluation, award and standstill, and tendering's errors; standard library and
shared.domain only (docs/domain-rules.md)."""
