-- Listings read a trust's lines through demand_lines_trust_order (trust, created_at, id), even
-- when they filter by category or status. This older index served no query, and every line
-- inserted paid for an entry in it.
DROP INDEX demand_lines_trust;
