"""Reading a JSON request body: the one parse of the command API, and what refuses a body.

Litestar parses a body, then converts it to the handler's struct (``backend/dto.py``) in its
lax mode, where ``"3"`` passes for an integer and ``"true"`` for a boolean: not what the
OpenAPI document says. ``JsonRequest``, the API router's request class, does both steps itself
(Litestar then takes the struct as it is), so that no body can end in a 500 or a bare 400 and
a body is accepted exactly when the document says it is:

- a body that is not JSON by its ``Content-Type`` (``text/plain``, a form, none at all) is a
  415 ``unsupported_media_type``: it is not executed, however JSON it looks;
- bytes that are not UTF-8, JSON nested past the decoder's depth, white space alone, a lone
  surrogate escape: a 422 ``malformed_body``;
- a JSON number becomes an exact ``Decimal`` when it has a fraction or an exponent (never a
  float: ``1e400`` is not infinity and ``0.1`` stays 0.1), which the bounded decimals of the
  DTOs then judge, naming the field;
- the value is converted to the handler's struct strictly (JSON types as the schema gives
  them; a bounded decimal through ``dto.decode_custom``): a 422 ``invalid_input`` naming each
  member otherwise.

Guards run before the body is read, so 401 → 403 → 404 still come first.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
from litestar import Request
from litestar.types import Empty

from danvan.backend.dto import decode_custom
from danvan.backend.errors import Problem, msgspec_errors

JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)
CANONICAL_ENCODER = msgspec.json.Encoder(order="sorted", decimal_format="number")


def is_json(media_type: str, options: dict[str, str]) -> bool:
    """``application/json`` or a ``+json`` type, in UTF-8 (the only encoding JSON has)."""
    kind = media_type.strip().lower()
    charset = options.get("charset", "utf-8").strip().strip('"').lower()
    return ((kind == "application/json" or (kind.startswith("application/")
                                            and kind.endswith("+json")))
            and charset in ("utf-8", "utf8"))


def parse_json(raw: bytes) -> Any:
    """The JSON value of ``raw``, or a 422 ``malformed_body``."""
    try:
        return JSON_DECODER.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError,
            RecursionError) as exc:
        raise Problem(422, "malformed_body") from exc


def canonical_json(raw: bytes) -> bytes | None:
    """``raw`` re-encoded with sorted keys and no white space, or None if it is not JSON: two
    bodies with the same value have the same canonical form, however they were written."""
    try:
        return CANONICAL_ENCODER.encode(JSON_DECODER.decode(raw))
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError,
            RecursionError, TypeError):
        return None


def as_struct(value: Any, struct: type[msgspec.Struct]) -> msgspec.Struct:
    """``value`` as ``struct``, strictly, or a 422 naming each member it refuses."""
    try:
        return msgspec.convert(value, struct, strict=True, dec_hook=decode_custom)
    except msgspec.ValidationError as exc:
        raise Problem(422, "invalid_input", errors=msgspec_errors(exc)) from exc


class JsonRequest(Request[Any, Any, Any]):
    """The request of every command route: its JSON body read as described above."""

    async def json(self) -> Any:
        if self._json is Empty:  # not read yet
            media_type, options = self.content_type
            if not is_json(media_type, options):
                raise Problem(415, "unsupported_media_type")
            value = parse_json(await self.body())
            data = self.route_handler.parsed_fn_signature.parameters.get("data")
            struct = data.annotation if data is not None else None
            if isinstance(struct, type) and issubclass(struct, msgspec.Struct):
                value = as_struct(value, struct)
            self._json = value
        return self._json

