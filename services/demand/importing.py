"""Importing demand or spend from a CSV file: every valid row is submitted
(services/demand/submitting.py, services/demand/spending.py), every refused row reported by
line, column and reason (docs/http-api.md, the demand and spend imports)."""

from collections.abc import Callable, Iterable, Sequence
from uuid import uuid4

from services.demand.csv_import import ImportReport
from services.demand.demand_csv import CsvChunk, CsvRow, DemandCsv, M, Row, RowError
from services.demand.domain.lines import Refusal
from services.demand.metrics import SPEND
from services.demand.spend_rules import SpendSubmission
from services.demand.spending import SpendRequest, conflict_reason, record_many
from services.demand.submitting import (
    Key,
    Outcome,
    Request,
    Result,
    acting_for,
    count,
    submit_many,
)
from shared.auth import Principal
from shared.unit_of_work import UnitOfWork


def _row_key(owner: str, row: CsvRow, idempotency_key: str | None) -> Key | None:
    """A row's own submission_id, else one derived from the request's Idempotency-Key."""
    if row.submission.submission_id is not None:
        return owner, row.submission.submission_id
    if idempotency_key is not None:
        return owner, f"{idempotency_key}#{row.line}"
    return None


def _report(
    report: ImportReport,
    chunk: CsvChunk[M],
    results: Sequence[Outcome | Refusal],
    conflict: Callable[[Row[M], Outcome], RowError],
) -> None:
    """One chunk's rows into the report: accepted (created or replayed) or refused, in line
    order; `conflict` says why a row whose key was used for other content is refused."""
    refused = list(chunk.errors)
    for row, result in zip(chunk.rows, results, strict=True):
        if isinstance(result, Refusal):
            refused.append(RowError(row.line, result.field, result.reason))
        elif result.result is Result.CONFLICT:
            refused.append(conflict(row, result))
        else:
            report.accept(row.line, result.line_id, result.result is Result.REPLAYED)
    refused.sort(key=lambda e: e.line)
    report.refuse(refused)
    report.rows += chunk.data_rows


def _demand_conflict(row: CsvRow, result: Outcome) -> RowError:
    column = "submission_id" if row.submission.submission_id is not None else None
    reason = f"this key was already used for different content (line {result.line_id})"
    return RowError(row.line, column, reason)


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
        _report(report, chunk, results, _demand_conflict)
    return report


def _spend_conflict(row: Row[SpendSubmission], result: Outcome) -> RowError:
    return RowError(row.line, "invoice_ref", conflict_reason(row.submission, result.line_id))


async def import_spend(
    work: UnitOfWork, principal: Principal, chunks: Iterable[CsvChunk[SpendSubmission]]
) -> ImportReport:
    """Record every valid row (each idempotent by school and `invoice_ref`, so re-sending a
    file adds nothing); report each refused row by line, column and reason, as `import_demand`
    does."""
    actor = acting_for(principal)
    report = ImportReport("spend_id")
    for chunk in chunks:
        results = await record_many(work, [SpendRequest(r.submission, actor) for r in chunk.rows])
        count("csv", results, SPEND)
        _report(report, chunk, results, _spend_conflict)
    return report
