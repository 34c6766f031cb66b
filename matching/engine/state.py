"""A fitted engine as plain arrays and JSON: what the Django layer stores instead of a pickle.

    arrays, meta = state_dump(engine)        # arrays: name -> numpy array; meta: JSON-ready
    engine = state_load(arrays, meta)

The walk is generic, so a new attribute of the engine is stored without code of its own:
numpy arrays and scipy sparse matrices (as their component arrays), numbers, strings, None,
lists, tuples, sets and dicts of them, dataclasses, and objects of this package's own
classes (their ``__getstate__``, restored with ``__setstate__`` where they define one, as
pickle would). Anything else (a function from elsewhere, a file, a lambda) raises TypeError
when the state is made, never when it is read. Loading builds only this package's classes
and a few known types: unlike unpickling, reading a stored state runs no code named in it.

Objects referenced twice (the analyzer shared by the engine and its vectorizer) are stored
once and come back shared.
"""
from __future__ import annotations

import dataclasses
import importlib
import re
import types
from collections import Counter, OrderedDict
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

# Bumped when this encoding changes; a stored state of another version is not read (the caller refits).
STATE_FORMAT = 1
PACKAGE = __name__.rsplit(".", 1)[0]  # this package: the only one whose classes are rebuilt
SPARSE_FORMATS = ("csr", "csc", "coo")
# dict subclasses rebuilt from their items: the standard library's own, and any of this package's.
KNOWN_DICTS: dict[str, type] = {"Counter": Counter, "OrderedDict": OrderedDict}


class StateError(ValueError):
    """A stored state that cannot be read: another version, damaged, or naming a class it may not."""


def state_dump(obj: Any) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) for ``obj``; ``meta`` is plain JSON (json.dumps works on it)."""
    writer = _Writer()
    root = writer.encode(obj)
    return writer.arrays, {"format": STATE_FORMAT, "root": root, "shared": writer.shared}


def state_load(arrays: dict[str, np.ndarray], meta: dict) -> Any:
    """The object ``state_dump`` was given. Raises StateError for a state it cannot read."""
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT:
        raise StateError(f"state format {meta.get('format') if isinstance(meta, dict) else None!r}, "
                         f"expected {STATE_FORMAT}")
    try:
        return _Reader(arrays, meta["shared"]).decode(meta["root"])
    except StateError:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as error:
        raise StateError(f"damaged state: {type(error).__name__}: {error}") from error


def _class_name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _in_package(module: str) -> bool:
    return module == PACKAGE or module.startswith(PACKAGE + ".")


def _ours(cls: type) -> bool:
    return _in_package(cls.__module__)


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.shared: list = []          # objects met more than once (or that may be): stored here once
        self._seen: dict[int, int] = {}  # id(obj) -> index in shared
        self._keep: list = []            # keeps encoded objects alive, so their ids stay unique

    def _array(self, array: np.ndarray) -> str:
        if array.dtype.hasobject:
            raise TypeError("an array of Python objects cannot be stored without pickle")
        name = f"a{len(self.arrays)}"
        self.arrays[name] = np.ascontiguousarray(array)
        return name

    def encode(self, obj: Any) -> Any:
        # Plain JSON values stand for themselves (JSON has no tuples or non-string keys: those are tagged).
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and type(obj) is int:
            return obj
        if isinstance(obj, float) and type(obj) is float:
            return obj if np.isfinite(obj) else {"float": repr(obj)}
        if isinstance(obj, np.generic):
            return {"scalar": obj.dtype.str, "value": self.encode(obj.item())}
        # Everything else is stored once and referenced: identity is kept, as pickle keeps it.
        key = id(obj)
        if key in self._seen:
            return {"ref": self._seen[key]}
        index = len(self.shared)
        self._seen[key] = index
        self._keep.append(obj)
        self.shared.append(None)  # reserved: a cycle back to this object would find the reference
        self.shared[index] = self._encode_object(obj)
        return {"ref": index}

    def _encode_object(self, obj: Any) -> dict:
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._array(obj)}
        if sp.issparse(obj):
            kind = "matrix" if isinstance(obj, sp.spmatrix) else "array"
            fmt = obj.format if obj.format in SPARSE_FORMATS else "csr"
            stored = obj.asformat(fmt)
            parts = ("data", "row", "col") if fmt == "coo" else ("data", "indices", "indptr")
            return {"sparse": fmt, "kind": kind, "from": obj.format, "shape": list(stored.shape),
                    "parts": {part: self._array(getattr(stored, part)) for part in parts}}
        if isinstance(obj, cKDTree):
            # The tree is rebuilt from its points: the same points give the same tree.
            return {"kdtree": self._array(np.asarray(obj.data)), "leafsize": int(obj.leafsize)}
        if isinstance(obj, re.Pattern):
            return {"pattern": obj.pattern, "flags": obj.flags}
        if type(obj) in (list, tuple, set, frozenset):
            items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
            return {type(obj).__name__: [self.encode(item) for item in items]}
        if type(obj) is dict or (isinstance(obj, dict) and type(obj).__name__ in KNOWN_DICTS
                                 and type(obj) is KNOWN_DICTS[type(obj).__name__]):
            return {"dict": [[self.encode(k), self.encode(v)] for k, v in obj.items()],
                    "type": None if type(obj) is dict else type(obj).__name__}
        if isinstance(obj, types.FunctionType) and _in_package(obj.__module__) and "<" not in obj.__qualname__:
            return {"function": f"{obj.__module__}:{obj.__qualname__}"}  # a module-level function: by name
        cls = type(obj)
        if dataclasses.is_dataclass(obj) and _ours(cls):
            return {"dataclass": _class_name(cls),
                    "fields": {f.name: self.encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
        if _ours(cls) and "<" not in cls.__qualname__:
            state = obj.__getstate__()  # what pickle would store: the class may leave caches out
            encoded: dict = {"object": _class_name(cls), "state": self.encode(state)}
            if isinstance(obj, dict):
                encoded["items"] = [[self.encode(k), self.encode(v)] for k, v in obj.items()]
            return encoded
        raise TypeError(f"cannot store a {cls.__module__}.{cls.__qualname__} in an engine state")


class _Reader:
    def __init__(self, arrays: dict[str, np.ndarray], shared: list) -> None:
        self.arrays = arrays
        self.shared = shared
        self._done: dict[int, Any] = {}

    def _array(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            raise StateError(f"array {name!r} is missing")
        return self.arrays[name]

    def decode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, list):
            raise StateError("a bare list in the state")
        if "float" in value:
            return float(value["float"])
        if "scalar" in value:
            return np.dtype(value["scalar"]).type(self.decode(value["value"]))
        index = value["ref"]
        if index in self._done:
            return self._done[index]
        return self._decode_object(index, self.shared[index])

    def _decode_object(self, index: int, spec: dict) -> Any:
        done = self._done
        if "ndarray" in spec:
            done[index] = self._array(spec["ndarray"])
        elif "sparse" in spec:
            parts = {name: self._array(array) for name, array in spec["parts"].items()}
            shape = tuple(spec["shape"])
            if spec["sparse"] == "coo":
                matrix = sp.coo_matrix((parts["data"], (parts["row"], parts["col"])), shape=shape)
            else:
                build = sp.csr_matrix if spec["sparse"] == "csr" else sp.csc_matrix
                matrix = build((parts["data"], parts["indices"], parts["indptr"]), shape=shape)
            matrix = matrix.asformat(spec["from"]) if spec["from"] != spec["sparse"] else matrix
            done[index] = matrix if spec["kind"] == "matrix" else sp.csr_array(matrix).asformat(matrix.format)
        elif "kdtree" in spec:
            done[index] = cKDTree(self._array(spec["kdtree"]), leafsize=spec["leafsize"])
        elif "pattern" in spec:
            done[index] = re.compile(spec["pattern"], spec["flags"])
        elif "list" in spec:
            items: list = []
            done[index] = items
            items.extend(self.decode(item) for item in spec["list"])
        elif "tuple" in spec:
            done[index] = tuple(self.decode(item) for item in spec["tuple"])
        elif "set" in spec:
            done[index] = {self.decode(item) for item in spec["set"]}
        elif "frozenset" in spec:
            done[index] = frozenset(self.decode(item) for item in spec["frozenset"])
        elif "dict" in spec:
            cls = dict if spec["type"] is None else KNOWN_DICTS.get(spec["type"])
            if cls is None:
                raise StateError(f"unknown dict type {spec['type']!r}")
            done[index] = mapping = cls()
            for key, item in spec["dict"]:
                mapping[self.decode(key)] = self.decode(item)
        elif "function" in spec:
            done[index] = self._function(spec["function"])
        elif "dataclass" in spec:
            cls = self._class(spec["dataclass"])
            if not dataclasses.is_dataclass(cls):
                raise StateError(f"{spec['dataclass']} is not a dataclass")
            done[index] = obj = cls.__new__(cls)
            for name, item in spec["fields"].items():
                object.__setattr__(obj, name, self.decode(item))  # frozen dataclasses too
        elif "object" in spec:
            klass: Any = self._class(spec["object"])
            done[index] = obj = klass.__new__(klass)
            if "items" in spec:
                for key, item in spec["items"]:
                    dict.__setitem__(obj, self.decode(key), self.decode(item))
            state = self.decode(spec["state"])
            if hasattr(obj, "__setstate__"):  # the class's own: object has none
                obj.__setstate__(state)
            elif state:
                obj.__dict__.update(state)
        else:
            raise StateError(f"unknown entry {sorted(spec)!r}")
        return done[index]

    @staticmethod
    def _class(name: str) -> type:
        found = _named(name)
        if not isinstance(found, type):
            raise StateError(f"{name} is not a class")
        return found

    @staticmethod
    def _function(name: str) -> types.FunctionType:
        found = _named(name)
        if not isinstance(found, types.FunctionType):
            raise StateError(f"{name} is not a function")
        return found


def _named(name: str) -> Any:
    """A class or function of this package by "module:qualname"; nothing outside it is ever looked up."""
    module, _, qualname = name.partition(":")
    if not _in_package(module) or not qualname:
        raise StateError(f"{name} is not part of {PACKAGE}")
    try:
        found: Any = importlib.import_module(module)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as error:
        raise StateError(f"{name} does not exist (any more)") from error
    return found
