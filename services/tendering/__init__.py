"""Tendering service: demand pools, tenders, bids and awards."""
