"""The query parameters of the lookup routes, as models that the routes parse themselves.

Why not plain FastAPI parameters: FastAPI resolves each declared parameter and each
sub-dependency per request in Python, 5 to 10 us apiece (measured with FastAPI 0.165), while
the lookup itself costs 3 us; a path parameter, four query parameters and a dependency would
halve the throughput of the endpoints. One pydantic model validated in one call costs a few
microseconds, answers with the same 422 body as FastAPI's own validation, and still documents
every parameter in the OpenAPI schema (`openapi_parameters`).
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache
from typing import TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.datastructures import QueryParams

from sqlrec import project

QueryModel = TypeVar("QueryModel", bound=BaseModel)

MAX_K = 100
DEFAULT_K = 10
MAX_LISTED_IDS = 100
# One limit for the build and the service: an id the build keeps can always be looked up.
MAX_ID_LENGTH = project.max_id_length()
MAX_CACHED_QUERY = 128

# Unicode's White_Space characters, which staging trims from every id (macro unicode_whitespace).
UNICODE_WHITESPACE = "".join(map(chr, [9, 10, 11, 12, 13, 32, 133, 160, 5760, *range(8192, 8203),
                                       8232, 8233, 8239, 8287, 12288]))
INTEGRAL_NUMBER = re.compile(r"-?[0-9]+\.0+")


class SimilarItemsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    k: int = Field(DEFAULT_K, ge=1, le=MAX_K, description=f"how many items, 1..{MAX_K}")
    include_unavailable: bool = Field(
        False, description="also list sold-out items (is_available false), as the table ranks "
        "them; by default they are left out and rank is the position in the answer")


class RecommendationsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    k: int = Field(DEFAULT_K, ge=1, le=MAX_K, description=f"how many items, 1..{MAX_K}")
    category: str | None = Field(
        None, max_length=MAX_ID_LENGTH, description="only items of this category (422 if unknown)")
    exclude: str | None = Field(
        None, max_length=MAX_LISTED_IDS * (MAX_ID_LENGTH + 1),
        description=f"items never to recommend: comma-separated ids, at most {MAX_LISTED_IDS}")
    recent_items: str | None = Field(
        None, max_length=MAX_LISTED_IDS * (MAX_ID_LENGTH + 1),
        description="items the client just viewed, comma-separated (at most "
        f"{MAX_LISTED_IDS}): the items most similar to them come first, with source "
        "'recent_items'")

    @field_validator("exclude", "recent_items")
    @classmethod
    def _at_most_max_listed(cls, value: str | None) -> str | None:
        if value is not None and len(split_ids(value)) > MAX_LISTED_IDS:
            raise ValueError(f"at most {MAX_LISTED_IDS} ids")
        return value

    # Split once per query string: a parsed query is cached and answers again (`parse_query`).
    @cached_property
    def exclude_ids(self) -> tuple[str, ...]:
        return tuple(split_ids(self.exclude))

    @cached_property
    def recent_item_ids(self) -> tuple[str, ...]:
        return tuple(split_ids(self.recent_items))


def clean_id(value: str) -> str | None:
    """An id as staging writes it (macro clean_id), so that every spelling the build reads as one
    id finds it: Unicode White_Space trimmed, an integral number written as an integer
    ("100.0" is "100"), blank as None (missing)."""
    value = value.strip(UNICODE_WHITESPACE)
    if "." in value and INTEGRAL_NUMBER.fullmatch(value):
        value = value[:value.index(".")]
    return value or None


def split_ids(value: str | None) -> list[str]:
    """A comma list of ids, each cleaned as staging cleans ids, blanks dropped."""
    if not value:
        return []
    return [cleaned for item_id in value.split(",") if (cleaned := clean_id(item_id))]


def path_id(request: Request, name: str) -> str:
    """A path parameter that names an id, cleaned as staging cleans ids: 1 to MAX_ID_LENGTH
    characters once cleaned, as `category` is."""
    raw = request.path_params[name]
    value = clean_id(raw) or ""
    if not 1 <= len(value) <= MAX_ID_LENGTH:
        raise RequestValidationError([{
            "type": "string_too_short" if not value else "string_too_long",
            "loc": ("path", name),
            "msg": f"an id has 1 to {MAX_ID_LENGTH} characters once trimmed, this one "
                   f"{len(value)}",
            "input": _echoed(raw), "ctx": {"min_length": 1, "max_length": MAX_ID_LENGTH}}])
    return value


def parse_query(model: type[QueryModel], request: Request) -> QueryModel:
    """The request's query string as `model`, or FastAPI's own 422 when it does not fit."""
    query_string = request.scope["query_string"]
    try:
        if len(query_string) <= MAX_CACHED_QUERY:
            return _parsed(model, query_string)
        return _parse(model, query_string)
    except ValidationError as error:
        raise RequestValidationError([_located(detail) for detail in error.errors(
            include_url=False)]) from None


def _parse(model: type[QueryModel], query_string: bytes) -> QueryModel:
    return model.model_validate(dict(QueryParams(query_string)))


# The same few short query strings ("k=10") come again and again, and the models are frozen: a
# parsed one answers every later request with the same string. Errors are not cached.
_parsed = lru_cache(maxsize=4096)(_parse)


def _located(detail: dict) -> dict:
    detail = {**detail, "loc": ("query", *detail["loc"]), "input": _echoed(detail.get("input"))}
    if "ctx" in detail:  # a validator's exception object is not JSON
        detail["ctx"] = {key: value if isinstance(value, int | float | str | bool) else str(value)
                         for key, value in detail["ctx"].items()}
    return detail


def _echoed(value: object) -> object:
    """An invalid input as a 422 repeats it: long strings cut, so that an error never echoes
    what a client sent in bulk."""
    if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
        return value[:MAX_ID_LENGTH] + "..."
    return value


def invalid_query(name: str, message: str, value: object) -> RequestValidationError:
    """A 422 in the same shape as FastAPI's own validation errors."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("query", name), "msg": message,
          "input": _echoed(value)}])


def openapi_parameters(model: type[BaseModel], *, path: tuple[str, ...] = ()) -> dict:
    """`openapi_extra` declaring string path parameters and the fields of a query model."""
    schema = model.model_json_schema()
    parameters: list[dict] = [{"name": name, "in": "path", "required": True,
                               "schema": {"type": "string", "title": name.replace("_", " "),
                                          "minLength": 1, "maxLength": MAX_ID_LENGTH}}
                              for name in path]
    for name, field_schema in schema["properties"].items():
        field_schema = dict(field_schema)
        parameter = {"name": name, "in": "query", "required": name in schema.get("required", ())}
        if "description" in field_schema:
            parameter["description"] = field_schema.pop("description")
        parameter["schema"] = field_schema
        parameters.append(parameter)
    return {"parameters": parameters}
