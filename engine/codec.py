"""JSON on the engine's hot paths: the inbox's payloads, the journal's records and
outcomes, a recovery's chunks, the changes published after each batch.

msgspec, not the standard library: several times faster both ways, and exact for integers
of any size (the engine's units reach 10**30, past what orjson takes). The text is compact,
as `json.dumps(value, separators=(",", ":"))` writes it, but for non-ASCII characters,
which it writes as they are rather than escaped."""

from __future__ import annotations

from typing import Any

import msgspec

json_bytes = msgspec.json.Encoder().encode
# text or bytes to a value; raises msgspec.DecodeError (a ValueError) on bad JSON
json_value = msgspec.json.Decoder().decode


def json_text(value: Any) -> str:
    return json_bytes(value).decode()
