"""Reading a record of the Kafka ingress (`demand.submissions`, `spend.submissions`): the
submission or spend line, or the reason the record goes to the dead-letter topic instead."""

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from services.demand.rules import MAX_SUBMISSION_BYTES, KafkaSubmission, error_reason

M = TypeVar("M", bound=BaseModel)


def read_record(
    value: bytes | None, max_bytes: int = MAX_SUBMISSION_BYTES
) -> KafkaSubmission | str:
    """The submission a record carries, or why it carries none."""
    return read_as(KafkaSubmission, value, max_bytes)


def read_as(model: type[M], value: bytes | None, max_bytes: int = MAX_SUBMISSION_BYTES) -> M | str:
    """The `model` a record carries (a demand submission, a spend line), or why it carries
    none."""
    if not value:
        return "empty record: no submission"
    if len(value) > max_bytes:
        return f"oversized payload: {len(value)} bytes (the limit is {max_bytes})"
    try:
        return model.model_validate_json(value)
    except ValidationError as exc:
        errors = exc.errors()
        if any(e["type"] == "json_invalid" for e in errors):
            return f"malformed JSON: {errors[0]['msg']}"
        return "invalid submission: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: "
            + ("unknown field" if e["type"] == "extra_forbidden" else error_reason(e["msg"]))
            for e in errors
        )
