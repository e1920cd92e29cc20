"""The hostile corpus, and where it goes: every member of every request body the OpenAPI
document describes, every path parameter, and every argument of the GraphQL schema.

A value is a raw JSON fragment (bytes), spliced into an otherwise good body in place of one
member, so that what JSON cannot carry as a Python ``str`` (invalid UTF-8, a NUL byte, a lone
surrogate escape) reaches the server exactly as written. ``text`` is what a value means when
the server may fairly accept it: then it must be stored NFC and read back as ``NFC(text)``.
"""

from __future__ import annotations

import copy
import itertools
import json
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VIETNAMESE = "Dân vận khéo: Xóm Đồng Tâm giữ gìn đường làng, ngõ xóm sạch đẹp"
NFD_VIETNAMESE = unicodedata.normalize("NFD", VIETNAMESE)
assert NFD_VIETNAMESE != VIETNAMESE


@dataclass(frozen=True)
class Hostile:
    label: str
    fragment: bytes
    """The member's value as it goes on the wire (a JSON value, or bytes that are not)."""
    text: str | None = None
    """For a text the server may accept: what it stands for."""

    @property
    def is_text(self) -> bool:
        return self.fragment.startswith(b'"')


def _text(label: str, value: str, *, acceptable: bool = True) -> Hostile:
    return Hostile(label, json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"),
                   value if acceptable else None)


def _raw(label: str, fragment: bytes) -> Hostile:
    return Hostile(label, fragment)


def _nested(depth: int, opening: str, closing: str) -> bytes:
    return (opening * depth + closing * depth).encode()


SEVENTEEN_THOUSAND_DIGITS = "0." + "1234567890" * 1700
CORPUS: tuple[Hostile, ...] = (
    # characters JSON or PostgreSQL cannot hold
    _text("NUL escaped", "Tên\u0000có NUL", acceptable=False),
    _raw("NUL byte raw", b'"a\x00b"'),
    _text("C0 control", "chu\u0007ông\u001b[0m", acceptable=False),
    _raw("invalid UTF-8", b'"\xff\xfe\xfd"'),
    _raw("truncated UTF-8", b'"ng\xc3"'),
    _raw("overlong UTF-8", b'"\xc0\xaf"'),
    _raw("UTF-8 encoded surrogate", b'"\xed\xa0\x80"'),
    _raw("lone high surrogate", b'"x\\ud800y"'),
    _raw("lone low surrogate", b'"\\udc00"'),
    _raw("surrogates reversed", b'"\\udc00\\ud800"'),
    # Vietnamese in both normal forms, and other text a form may meet
    _text("NFD Vietnamese", NFD_VIETNAMESE),
    _text("NFC Vietnamese", VIETNAMESE),
    _text("stacked combining marks", "Nguye\u0302\u0303n e\u0301\u0323\u0300"),
    _text("10k characters", "ạ" * 10_000),
    _text("100k characters", "x" * 100_000),
    _text("empty", ""),
    _text("blank", " \t\n "),
    _text("zero-width and bidi", "\u200b\u202eLê Lợi\u202c\ufeff"),
    _text("emoji and flags", "Đoàn kết 😀🇻🇳"),
    _text("CRLF header injection", "a\r\nSet-Cookie: x=y"),
    _text("SQL quote", "'; DROP TABLE danvan_events; --"),
    _text("SQL tautology", "1' OR '1'='1"),
    _text("SQL wildcards", "%_\\%"),
    _text("dollar quoting", "$$; SELECT pg_sleep(5); $$"),
    _text("script", "<script>alert('đ')</script>"),
    _text("template", "{{7*7}} ${7*7} #{7*7}"),
    _text("path traversal", "../../etc/passwd"),
    # decimals that are finite for Python and fatal elsewhere
    _text("string 1E-999999999", "1E-999999999", acceptable=False),
    _text("string 0E-20000", "0E-20000", acceptable=False),
    _text("string 17,000-digit fraction", SEVENTEEN_THOUSAND_DIGITS, acceptable=False),
    _text("string 1e400", "1e400", acceptable=False),
    _text("string NaN", "NaN", acceptable=False),
    _text("string -Infinity", "-Infinity", acceptable=False),
    _raw("number 1E-999999999", b"1E-999999999"),
    _raw("number 0E-20000", b"0E-20000"),
    _raw("number 17,000-digit fraction", SEVENTEEN_THOUSAND_DIGITS.encode()),
    _raw("number 1e400", b"1e400"),
    _raw("number -1e400", b"-1e400"),
    _raw("integer of 400 digits", b"1" + b"0" * 400),
    _raw("2^63", str(2**63).encode()),
    _raw("-2^63-1", str(-(2**63) - 1).encode()),
    _raw("negative zero", b"-0"),
    _raw("tiny", b"1.5e-7"),
    _raw("bare NaN", b"NaN"),
    # shapes
    _raw("null", b"null"),
    _raw("true", b"true"),
    _raw("empty array", b"[]"),
    _raw("empty object", b"{}"),
    _raw("deep arrays", _nested(20_000, "[", "]")),
    _raw("deep objects", ('{"a":' * 2_000 + "1" + "}" * 2_000).encode()),
    _raw("long array", b"[" + b",".join([b"1"] * 50_000) + b"]"),
    _raw("truncated JSON", b'{"a": ['),
)
"""Every entry is tried in each member (``make reliability``) or in a rotation that puts each
on every route and each member under one (``make test``)."""

WHOLE_BODY = (*(h for h in CORPUS if not h.is_text), _text("a string body", VIETNAMESE))
"""What replaces a request body entirely."""

SENTINEL = "@@hostile-f2c1@@"


Path = tuple[str | int, ...]


def members(schema: Mapping[str, Any], components: Mapping[str, Any],
            good: Any = None, prefix: Path = ()) -> list[Path]:
    """Every leaf member of a request schema (``$ref``, ``oneOf``, nested objects, array
    items, map values), plus whatever the good body has that the schema does not say."""
    schema = _resolve(schema, components)
    found: list[Path] = []
    properties = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    if schema.get("type") == "object" or properties or isinstance(extra, dict):
        names = list(properties)
        if isinstance(good, dict):
            names += [k for k in good if k not in properties]
        for name in names:
            inner = properties.get(name) or (extra if isinstance(extra, dict) else {})
            sub = good.get(name) if isinstance(good, dict) else None
            found += members(inner, components, sub, (*prefix, name)) or [(*prefix, name)]
        if isinstance(extra, dict) and not names:
            found.append((*prefix, "made_up_key"))
        return found
    if schema.get("type") == "array":
        sub = good[0] if isinstance(good, list) and good else None
        return members(schema.get("items") or {}, components, sub, (*prefix, 0)) \
            or [(*prefix, 0)]
    return [prefix] if prefix else []


def _resolve(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    for _ in range(20):
        if "$ref" in schema:
            schema = components[str(schema["$ref"]).rsplit("/", 1)[1]]
        elif "oneOf" in schema or "anyOf" in schema:
            options = [o for o in (schema.get("oneOf") or schema.get("anyOf") or [])
                       if _resolve(o, components).get("type") != "null"]
            schema = options[0] if options else {}
        else:
            return schema
    return schema


def with_member(good: Any, path: Path, value: Any) -> Any:
    """A deep copy of ``good`` with the member at ``path`` set (containers made as needed)."""
    if not path:
        return value
    body = copy.deepcopy(good) if good is not None else {}
    node = body
    for key, following in itertools.pairwise(path):
        if isinstance(node, list):
            while len(node) <= int(key):
                node.append(None)
            if not isinstance(node[int(key)], dict | list):
                node[int(key)] = [] if isinstance(following, int) else {}
            node = node[int(key)]
        else:
            if not isinstance(node.get(key), dict | list):
                node[key] = [] if isinstance(following, int) else {}
            node = node[key]
    last = path[-1]
    if isinstance(node, list):
        while len(node) <= int(last):
            node.append(None)
        node[int(last)] = value
    else:
        node[last] = value
    return body


def spliced(good: Any, path: Path, hostile: Hostile) -> bytes:
    """The request body: ``good`` with ``hostile`` as the member at ``path`` (the whole body
    when ``path`` is empty), written byte for byte."""
    if not path:
        return hostile.fragment
    text = json.dumps(with_member(good, path, SENTINEL), ensure_ascii=False).encode()
    marker = json.dumps(SENTINEL).encode()
    assert text.count(marker) == 1
    return text.replace(marker, hostile.fragment)


def label(path: Path) -> str:
    return ".".join(str(p) for p in path) or "(body)"


def pairs(paths: Sequence[Path], values: Sequence[Hostile], everywhere: bool
          ) -> Iterator[tuple[Path, Hostile]]:
    """Every value in every member, or a rotation: each value once on the route and each
    member at least once."""
    if everywhere:
        for path in paths:
            for hostile in values:
                yield path, hostile
        return
    for i in range(max(len(paths), len(values))):
        yield paths[i % len(paths)], values[i % len(values)]
