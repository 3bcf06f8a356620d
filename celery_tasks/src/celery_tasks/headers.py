"""Names of the message headers this package reads and writes, and the schema fingerprint."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel

CONTRACT = "x-contract"
VERSION = "x-contract-version"
FINGERPRINT = "x-contract-fingerprint"

REASON = "x-reason"
ERROR_TYPE = "x-error-type"
WORKER_VERSION = "x-worker-contract-version"
ORIGINAL_QUEUE = "x-original-queue"
PARKED_BY = "x-parked-by"
PARKED_AT = "x-parked-at"
REPLAYED = "x-replay-count"

PARKING_HEADERS = (REASON, ERROR_TYPE, WORKER_VERSION, ORIGINAL_QUEUE, PARKED_BY, PARKED_AT)


def schema_fingerprint(
    args_model: type[BaseModel], result_model: type[BaseModel], progress_model: type[BaseModel] | None = None
) -> str:
    """A short stable hash of the argument, result and (when declared) progress JSON schemas."""
    document = {"args": args_model.model_json_schema(), "result": result_model.model_json_schema()}
    if progress_model is not None:  # a contract without progress keeps the fingerprint it always had
        document["progress"] = progress_model.model_json_schema()
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
