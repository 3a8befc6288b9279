"""`/v1/records`: batch upsert with per-row results, and reading one record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response

from api.auth import Action, Principal
from api.deps import ServicesDep, requires
from api.schemas.common import RECORD_ID_PATTERN, responses
from api.schemas.records import RecordPublic, RecordResultsPublic, RecordsCreate

router = APIRouter(prefix="/v1/records", tags=["records"])

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$",
           description="Retry-safe key: the same key and body return the first response "
                       "again; the same key with another body is refused (422)."),
]


@router.post(
    "",
    response_model=RecordResultsPublic,
    responses=responses(401, 403, 409, 413, 503),
    summary="Insert or update a batch of records",
    description="Each row is validated, stored and linked; the result lists, per row, the "
                "identity and the outcome (linked, new_identity, near_match_queued, rejected "
                "with field-level reasons). Sending the same batch again changes nothing. "
                "The batch limit is `STUDENTLINK_MAX_BATCH_RECORDS` (1,000 by default; 413 "
                "beyond), and the body limit `STUDENTLINK_MAX_BODY_BYTES` (4 MiB).",
)
def upsert_records(
    body: RecordsCreate,
    principal: Annotated[Principal, Depends(requires(Action.UPLOAD_RECORDS))],
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RecordResultsPublic:
    result, replayed = services.records.upsert(principal, body, idempotency_key)
    if idempotency_key is not None:
        response.headers["Idempotent-Replayed"] = "true" if replayed else "false"
    return result


@router.get("/{record_id}", response_model=RecordPublic,
            responses=responses(401, 403, 404), summary="Read one stored record")
def get_record(
    record_id: Annotated[str, Path(pattern=RECORD_ID_PATTERN)],
    principal: Annotated[Principal, Depends(requires(Action.READ_RECORDS))],
    services: ServicesDep,
) -> RecordPublic:
    return services.records.get(principal, record_id)
