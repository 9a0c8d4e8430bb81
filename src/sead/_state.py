"""Versioned state bytes: a model's class, parameters and learned arrays, with no pickled code.

Layout of a blob::

    b"SEADSTATE\\0"  (10 bytes)
    format version   (uint16, little endian)
    header length    (uint32)
    header           (UTF-8 JSON: kind, class, parameters, schema, sead version, array names)
    payload length   (uint64)
    payload          (numpy ``.npz`` archive of the arrays, ``allow_pickle=False``)
    sha256           (32 bytes, of everything before it)

Reading checks, in this order, and raises a :class:`ValueError` that says which: the magic
bytes (not sead state), the length (truncated), the checksum (corrupt: a flipped bit), the
format version (newer than this sead reads), the kind and class (another model). Parameters are
JSON; detectors and references inside them are written as ``{"__sead__": "module.Class",
"params": {...}}`` and may only name sead's own classes, so loading never runs code from the
blob. Models wrapping foreign objects (a River or scikit-learn model in an adapter) have no
data form and refuse to be written.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import math
import struct

import numpy as np

__all__ = ["FORMAT_VERSION", "dumps", "loads", "encode_params", "decode_params", "class_path"]

MAGIC = b"SEADSTATE\x00"
#: the newest format this version of sead writes and reads
FORMAT_VERSION = 1
_HEAD = struct.Struct("<HI")
_LEN = struct.Struct("<Q")


def class_path(cls) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _sead_class(path: str):
    """The sead class named ``path`` (``sead.``-prefixed modules only)."""
    module, _, name = path.rpartition(".")
    if not (module == "sead" or module.startswith("sead.")) or not name.isidentifier():
        raise ValueError(f"state bytes name the class {path!r}, which is not one of sead's")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ValueError(
            f"state bytes name the class {path!r}, which this sead does not have"
        ) from None
    return cls


def encode_params(value):
    """JSON-able form of a parameter value (detectors and references as tagged objects)."""
    from .base import Detector
    from .normalization import QuantileReference

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else {"__float__": repr(v)}
    if isinstance(value, (list, tuple)):
        return [encode_params(v) for v in value]
    if isinstance(value, np.ndarray):
        return [encode_params(v) for v in value.tolist()]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"cannot write a dict with non-string keys as state: {value!r}")
        return {"__dict__": {k: encode_params(v) for k, v in value.items()}}
    if isinstance(value, (Detector, QuantileReference)):
        if not getattr(value, "_state_bytes_ok", True):
            raise TypeError(
                f"{type(value).__name__} wraps a foreign model whose state is Python objects; it "
                "cannot be written as state bytes (use pickle, for trusted data only)"
            )
        return {
            "__sead__": class_path(type(value)),
            "params": encode_params(value.get_params())["__dict__"],
        }
    raise TypeError(f"cannot write a parameter of type {type(value).__name__} as state: {value!r}")


def decode_params(value):
    """Inverse of :func:`encode_params`; a header's top-level ``params`` dict is decoded by
    :func:`decode_top`."""
    if isinstance(value, list):
        return [decode_params(v) for v in value]
    if isinstance(value, dict):
        if "__float__" in value:
            return float(value["__float__"])
        if "__dict__" in value:
            return {k: decode_params(v) for k, v in value["__dict__"].items()}
        if "__sead__" in value:
            cls = _sead_class(value["__sead__"])
            return cls(**{k: decode_params(v) for k, v in value["params"].items()})
        raise ValueError(f"state bytes hold an unknown parameter form: {sorted(value)}")
    return value


def decode_top(params: dict) -> dict:
    """The keyword arguments of a header's ``params``."""
    return {k: decode_params(v) for k, v in params.items()}


def dumps(kind: str, cls, params: dict, arrays: dict, extra: dict | None = None) -> bytes:
    """A blob of ``kind`` (``"model"`` or ``"key"``) for ``cls`` with its parameters, arrays and
    ``extra`` header fields (JSON-able)."""
    from . import __version__

    header = {
        "kind": kind,
        "class": class_path(cls),
        "params": encode_params(params)["__dict__"] if isinstance(params, dict) else params,
        "sead_version": __version__,
        "arrays": sorted(arrays),
        **(extra or {}),
    }
    buf = io.BytesIO()
    np.savez(buf, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})  # type: ignore[arg-type]
    payload = buf.getvalue()
    head = json.dumps(header, sort_keys=True, allow_nan=False).encode("utf-8")
    body = MAGIC + _HEAD.pack(FORMAT_VERSION, len(head)) + head + _LEN.pack(len(payload)) + payload
    return body + hashlib.sha256(body).digest()


def loads(blob, kind: str, cls) -> tuple[dict, dict]:
    """``(header, arrays)`` of a blob written by :func:`dumps` for ``kind`` and ``cls`` (or a
    subclass of it); a ValueError saying what is wrong otherwise."""
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TypeError(f"state bytes must be bytes, got {type(blob).__name__}")
    blob = bytes(blob)
    if not blob.startswith(MAGIC):
        raise ValueError("these bytes are not sead state (no SEADSTATE header)")
    fixed = len(MAGIC) + _HEAD.size
    if len(blob) < fixed:
        raise ValueError(f"state bytes are truncated: {len(blob)} bytes, shorter than the header")
    version, head_len = _HEAD.unpack_from(blob, len(MAGIC))
    need = fixed + head_len + _LEN.size
    if len(blob) >= need:
        (payload_len,) = _LEN.unpack_from(blob, fixed + head_len)
        need += payload_len + 32
    else:
        need += 32
    if len(blob) < need:
        raise ValueError(f"state bytes are truncated: {len(blob)} bytes of {need}")
    if len(blob) > need:
        raise ValueError(
            f"state bytes have {len(blob) - need} bytes of trailing data (not one blob)"
        )
    body, digest = blob[:-32], blob[-32:]
    if hashlib.sha256(body).digest() != digest:
        raise ValueError(
            "state bytes are corrupt: the checksum does not match (changed or damaged data)"
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            f"state bytes are format {version}, newer than this sead reads (up to "
            f"{FORMAT_VERSION}); upgrade sead to load them"
        )
    header = json.loads(blob[fixed : fixed + head_len].decode("utf-8"))
    if header.get("kind") != kind:
        raise ValueError(f"state bytes hold a {header.get('kind')!r} state, not a {kind!r} state")
    stored = header.get("class", "?")
    got = _sead_class(stored)
    if not (isinstance(got, type) and issubclass(got, cls)):
        raise ValueError(f"state bytes hold a {stored.rpartition('.')[2]}, not a {cls.__name__}")
    start = fixed + head_len + _LEN.size
    with np.load(io.BytesIO(blob[start:-32]), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if sorted(arrays) != header.get("arrays"):
        raise ValueError("state bytes are inconsistent: the arrays do not match the header")
    return header, arrays
