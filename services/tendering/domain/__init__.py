"""Pure tendering rules: price tiers, bid evaluation, procurement route and pooling."""
