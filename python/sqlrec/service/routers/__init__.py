"""One router per resource: items, users, operations (health, metrics), admin."""

from __future__ import annotations

from fastapi.responses import Response

from sqlrec.service.schemas import ErrorMessage, InvalidRequest


class JSONBytes(Response):
    """A body that is JSON already: sent as it is, with no serialisation on the request path."""

    media_type = "application/json"


LOOKUP_ERRORS = {
    422: {"model": InvalidRequest, "description": "a malformed parameter (k outside 1..100, "
          "not a number, too many ids) or an unknown category"},
    503: {"model": ErrorMessage, "description": "no snapshot loaded yet"},
}
