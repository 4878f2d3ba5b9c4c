-- Procedures and tender periods (docs/domain-rules.md; Procurement Act 2023, s.54): the
-- procedure the manager chose, the framework of a call-off, and the grounds for a shortened
-- period, kept on the tender. Tenders opened before were open procedures.
ALTER TABLE tenders
    ADD COLUMN procedure                  TEXT NOT NULL DEFAULT 'open',
    ADD COLUMN framework                  TEXT,
    ADD COLUMN planned_procurement_notice BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN urgency_reason             TEXT;
