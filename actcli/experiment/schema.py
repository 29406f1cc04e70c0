"""Reading a run folder's files back: every file checked against one schema, made from the dataclasses
that write it (actcli.records), and any damage a `DataError` that names the file and the field.

    read_header(path)            config.json → dict (a RunHeader), after the schema version is checked
    read_result(path, version)   results/<task>.json → dict (a Result), upgraded from an older schema

A dataclass becomes a TypedDict of its fields (nested dataclasses likewise, tuples as lists), which
pydantic checks strictly: a number must be a JSON number (the strings "nan", "inf" and "-inf" stand for
the non-finite floats, as actcli.jsonout writes them), a whole number must be whole, each within the
`Range` its annotation carries; every field must be there (unless its metadata says OPTIONAL, or it is
`since` a schema newer than the folder's), and a key no field has is refused: a file with a key this
actcli does not know was not written by it, and copying it on (`report -o`) would drop what the key held.
A file is read only if it is a regular file of at most MAX_BYTES, and JSON nested deeper than the
parser's limit (200 levels) is refused.

pydantic is imported when the first file is read, never for the commands that read none.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import stat
import types
import typing
from pathlib import Path

from ..errors import DataError
from ..records import SCHEMA_VERSION, RunHeader, Result

# The largest file read back. A result holds ≈ 170 bytes per layer per epoch (the CNN's 5 epochs: ≈ 5 KB; the
# MLP at depth 32: 33 KB): 64 MiB holds the deepest MLP --depth takes (1,000) for 390 epochs, or the CNN for
# 50,000. Larger is not a result but something else, and is not loaded into memory.
MAX_BYTES = 64 * 2**20


def read_bytes(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of `path`, if it is a regular file of at most `limit` bytes (a FIFO is never waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:   # a symlink loop, a dangling link, no permission
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{path}: not a regular file ({_kind(info.st_mode)})")
        if info.st_size > limit:          # refused before a byte is read
            raise DataError(f"{path}: larger than any run-folder file ({limit // 2**20} MiB)")
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(limit + 1)  # (and should it grow meanwhile)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise DataError(f"{path}: larger than any run-folder file ({limit // 2**20} MiB)")
    return data


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return kind
    return "not a plain file"


def _document(path: Path):
    from pydantic_core import from_json

    try:
        return from_json(read_bytes(path))
    except ValueError as exc:    # not JSON, not UTF-8, or nested past the parser's recursion limit
        reason = "nested too deep" if "recursion limit" in str(exc) else str(exc)
        raise DataError(f"{path}: not a JSON document ({reason})") from None


def read_header(path: Path) -> dict:
    """config.json, checked: a folder from a newer schema is refused with the advice to upgrade."""
    doc = _document(path)
    version = doc.get("schema", 1) if isinstance(doc, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        version = SCHEMA_VERSION            # not a version: the check below names it
    elif version > SCHEMA_VERSION:
        raise DataError(f"{path}: written by a newer actcli (run-folder schema {version}; this one reads up to "
                        f"{SCHEMA_VERSION}): upgrade actcli (pip install -U actcli)")
    return _validated(path, RunHeader, doc, version)


def version_of(head: dict) -> int:
    """The schema of a folder whose config.json is `head` (checked): 1 where it says none."""
    return head.get("schema", 1)


def read_result(path: Path, version: int = SCHEMA_VERSION) -> dict:
    """results/<task>.json of a folder of schema `version`, checked, in today's shape (a result of an older
    schema is upgraded first; it may lack the fields added since)."""
    doc = _document(path)
    for upgrade in UPGRADES[version - 1:]:
        doc = upgrade(doc)
    return _validated(path, Result, doc, version)


def _from_schema_1(doc):
    """A result written before the per-layer numbers (grad_norm_first and grad_norm_last, no grad_norms) in
    today's shape: what it measured, under today's names. Its dead_fraction becomes nan (unknown): it
    counted something else (output 0, on 1,000 images, after the pool, for the ReLU family only), and
    averaged with today's it would mean neither. Runs before the check: `doc` may be anything."""
    epochs = doc.get("epochs") if isinstance(doc, dict) else None
    for e in epochs if isinstance(epochs, list) else ():
        if isinstance(e, dict) and "grad_norms" not in e and "grad_norm_first" in e:
            e["grad_norms"] = {"conv1": e.pop("grad_norm_first"), "fc2": e.pop("grad_norm_last", None)}
            e.setdefault("activations", {})
            e["dead_fraction"] = math.nan
    return doc


# UPGRADES[v - 1] turns a result of schema v into one of schema v + 1.
UPGRADES = [_from_schema_1]
assert len(UPGRADES) == SCHEMA_VERSION - 1


def _validated(path: Path, record: type, doc, version: int) -> dict:
    from pydantic import ValidationError

    try:
        return _adapter(record, version).validate_python(doc)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        field = getattr(first.get("ctx", {}).get("error"), "field", None)    # a FieldProblem's
        where = _path((*first["loc"], *([field] if field else [])))
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise DataError(f"{path}: {where + ': ' if where else ''}{_problem(first)}{more}") from None
    except RecursionError:      # deep enough for the parser, too deep for the checker
        raise DataError(f"{path}: nested too deep") from None


# ---------------------------------------------------------------------------------------------
# The schema: the dataclasses as pydantic sees them
# ---------------------------------------------------------------------------------------------

@functools.cache
def _adapter(record: type, version: int):
    from pydantic import TypeAdapter

    return TypeAdapter(_shape(record, version))


def _shape(tp, version: int):
    """The JSON shape of an annotation in a folder of schema `version`: a dataclass as a TypedDict of its
    fields, a tuple as a list, the rest (numbers with their Range, text, Literal) as it is. (A TypedDict is
    rebuilt the same way.)"""
    from typing_extensions import is_typeddict

    if dataclasses.is_dataclass(tp) or is_typeddict(tp):
        return _typed_dict(tp, version)
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return typing.Annotated[(_shape(args[0], version), *tp.__metadata__)]
    if origin in (list, tuple):
        return list[_shape(args[0], version)] if args else list
    if origin is dict:
        return dict[args[0], _shape(args[1], version)] if args else dict
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_shape(a, version) for a in args)]
    return tp


@functools.cache
def _typed_dict(cls: type, version: int):
    """The file shape of a dataclass or TypedDict `cls` in a folder of schema `version`: every field
    required, unless its metadata says OPTIONAL or it is `since` a newer schema than the folder's, plus the
    properties it names in DERIVED (written beside the fields), with their return annotations."""
    from typing_extensions import NotRequired

    hints = typing.get_type_hints(cls, include_extras=True)
    if not dataclasses.is_dataclass(cls):
        return _strict(cls.__name__, {name: _shape(tp, version) for name, tp in hints.items()})

    def may_lack(f) -> bool:
        return f.metadata.get("optional", False) or f.metadata.get("since", 1) > version

    keys = {f.name: NotRequired[_shape(hints[f.name], version)] if may_lack(f) else _shape(hints[f.name], version)
            for f in dataclasses.fields(cls)}
    for name in getattr(cls, "DERIVED", ()):
        keys[name] = _shape(typing.get_type_hints(getattr(cls, name).fget, include_extras=True)["return"], version)
    shape = _strict(cls.__name__, keys)
    if not hasattr(cls, "consistent"):
        return shape
    from pydantic import AfterValidator

    def consistent(doc: dict) -> dict:          # its fields together, once each is sound
        cls.consistent(doc)
        return doc

    return typing.Annotated[shape, AfterValidator(consistent)]


def _strict(name: str, keys: dict):
    """A TypedDict that pydantic checks strictly (no conversions) and that refuses unknown keys."""
    from pydantic import ConfigDict
    from typing_extensions import TypedDict

    shape = TypedDict(name, keys)
    shape.__pydantic_config__ = ConfigDict(strict=True, extra="forbid")
    return shape


# ---------------------------------------------------------------------------------------------
# pydantic's errors as one line: the field's path and what was wrong with it
# ---------------------------------------------------------------------------------------------

EXPECTED = {"float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
            "string_type": "text", "dict_type": "an object", "list_type": "a list"}


def _path(loc) -> str:
    """('epochs', 2, 'val_accuracy') → 'epochs[2].val_accuracy'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problem(error: dict) -> str:
    kind = error["type"]
    if kind == "missing":
        return "missing"
    if kind == "extra_forbidden":
        return "not a field of this file (unknown keys are refused)"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind in EXPECTED:
        return f"expected {EXPECTED[kind]}, got {_shown(error['input'])}"
    if kind == "literal_error":
        return f"expected {error['ctx']['expected']}, got {_shown(error['input'])}"
    return f"{error['msg']}, got {_shown(error['input'])}"


def _shown(x) -> str:
    """A JSON value as a user would recognise it, briefly."""
    if isinstance(x, bool) or x is None:
        return {True: "true", False: "false", None: "null"}[x]
    if isinstance(x, dict):
        return "an object"
    if isinstance(x, list):
        return "a list"
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "…"
