"""One router per resource: items, users, operations (health, metrics), admin."""

from __future__ import annotations

from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor

from sqlrec.service.queries import MAX_ID_LENGTH
from sqlrec.service.schemas import ErrorMessage, InvalidRequest


class AnyTextConvertor(Convertor[str]):
    """A path parameter of any text: slashes (sent as %2F, decoded before routing), newlines,
    nothing at all (so that the route answers 422, not 404). Starlette's `str` stops at a
    slash, its `path` at a newline."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("any", AnyTextConvertor())


class JSONBytes(Response):
    """A body that is JSON already: sent as it is, with no serialisation on the request path."""

    media_type = "application/json"


LOOKUP_ERRORS = {
    422: {"model": InvalidRequest, "description": "a malformed parameter (k outside 1..100, "
          f"not a number, too many ids, an id blank or of more than {MAX_ID_LENGTH} characters) "
          "or an unknown category"},
    503: {"model": ErrorMessage, "description": "no snapshot loaded yet"},
}
