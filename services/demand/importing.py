"""Importing demand from a CSV file: every valid row is submitted (services/demand/submitting.py),
every refused row reported by line, column and reason (docs/http-api.md, the demand import)."""

from collections.abc import Iterable
from uuid import uuid4

from services.demand.csv_import import ImportReport
from services.demand.demand_csv import CsvRow, DemandCsv, RowError
from services.demand.domain.lines import Refusal
from services.demand.submitting import Key, Request, Result, acting_for, count, submit_many
from shared.auth import Principal
from shared.unit_of_work import UnitOfWork


def _row_key(owner: str, row: CsvRow, idempotency_key: str | None) -> Key | None:
    """A row's own submission_id, else one derived from the request's Idempotency-Key."""
    if row.submission.submission_id is not None:
        return owner, row.submission.submission_id
    if idempotency_key is not None:
        return owner, f"{idempotency_key}#{row.line}"
    return None


async def import_demand(
    work: UnitOfWork,
    principal: Principal,
    chunks: Iterable[DemandCsv],
    idempotency_key: str | None,
) -> ImportReport:
    """Register every valid row; report each refused row by line, column and reason. The rows
    come in chunks, in line order, each stored before the next is read; all in the caller's
    unit of work, so a file refused part way (CsvFileError from `chunks`) leaves nothing."""
    actor = acting_for(principal)
    batch = f"import-{uuid4()}"
    report = ImportReport()
    for chunk in chunks:
        requests = [
            Request(
                row.submission,
                actor,
                key := _row_key(principal.subject, row, idempotency_key),
                None if key else f"{batch}#{row.line}",
            )
            for row in chunk.rows
        ]
        results = await submit_many(work, requests)
        count("csv", results)
        refused = list(chunk.errors)
        for row, result in zip(chunk.rows, results, strict=True):
            if isinstance(result, Refusal):
                refused.append(RowError(row.line, result.field, result.reason))
            elif result.result is Result.CONFLICT:
                column = "submission_id" if row.submission.submission_id is not None else None
                reason = (
                    f"this key was already used for different content (line {result.demand_id})"
                )
                refused.append(RowError(row.line, column, reason))
            else:
                report.accept(row.line, result.demand_id, result.result is Result.REPLAYED)
        refused.sort(key=lambda e: e.line)
        report.refuse(refused)
        report.rows += chunk.data_rows
    return report
