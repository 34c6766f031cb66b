"""The engine's state as arrays and JSON (matching/engine/state.py): a generic walk, no pickle."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.spatial import cKDTree

from matching.engine import text
from matching.engine.state import StateError, state_dump, state_load


def round_trip(obj):
    arrays, meta = state_dump(obj)
    return state_load({name: array.copy() for name, array in arrays.items()}, json.loads(json.dumps(meta)))


def test_arrays_sparse_matrices_and_plain_values_come_back_equal_and_typed():
    obj = {
        "array": np.arange(6, dtype=np.float32).reshape(2, 3),
        "csr": sp.random(5, 4, density=0.4, format="csr", random_state=1, dtype=np.float32),
        "csc": sp.random(3, 3, density=0.5, format="csc", random_state=2),
        "coo": sp.coo_matrix(np.eye(3)),
        "lil": sp.lil_matrix(np.eye(2)),
        "scalar": np.float32(0.5),
        "tuples": (("a", 1), ("b", 2.5)),
        "int keys": {1: "one", 2: "two"},
        "set": {"x", "y"},
        "not finite": [float("nan"), float("inf")],
        "counter": Counter({"word": 3}),
        "strings": np.array(["nl", "en"]),
    }
    back = round_trip(obj)
    assert np.array_equal(back["array"], obj["array"]) and back["array"].dtype == np.float32
    for name in ("csr", "csc", "coo", "lil"):
        assert back[name].format == obj[name].format and (back[name] != obj[name]).nnz == 0
    assert back["scalar"] == obj["scalar"] and type(back["scalar"]) is np.float32
    assert back["tuples"] == obj["tuples"] and back["int keys"] == obj["int keys"] and back["set"] == obj["set"]
    assert np.isnan(back["not finite"][0]) and back["not finite"][1] == float("inf")
    assert type(back["counter"]) is Counter and back["counter"] == obj["counter"]
    assert list(back["strings"]) == ["nl", "en"]


def test_a_new_attribute_of_an_engine_class_is_stored_without_code_of_its_own(monkeypatch):
    # A dataclass of the engine's package gaining fields, as the engine's own do when it changes.
    @dataclass
    class Fitted:
        weights: np.ndarray
        names: dict[str, int] = field(default_factory=dict)
        tree: cKDTree | None = None

    Fitted.__module__, Fitted.__qualname__ = text.__name__, "Fitted"  # as if defined there
    monkeypatch.setattr(text, "Fitted", Fitted, raising=False)
    points = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.5]])
    shared = np.ones(3)
    obj = Fitted(weights=shared, names={"a": 0}, tree=cKDTree(points))
    back, again = round_trip([obj, shared])
    assert isinstance(back, Fitted) and back.names == {"a": 0}
    assert back.weights is again  # one array referenced twice is stored once and comes back shared
    assert back.tree.query([1.9, 0.4])[1] == obj.tree.query([1.9, 0.4])[1]


def test_an_analyzer_comes_back_working_with_its_caches_and_stemmers():
    analyzer = text.Analyzer(("nl", "en"))
    before = analyzer.analyze("De lantaarnpalen in het park zijn kapot", "nl")
    back = round_trip(analyzer)
    assert back.analyze("De lantaarnpalen in het park zijn kapot", "nl") == before
    assert back.analyze("The street lights are broken", "en") == analyzer.analyze("The street lights are broken", "en")


def test_what_cannot_be_stored_without_pickle_is_refused_when_storing():
    with pytest.raises(TypeError):
        state_dump({"a function from elsewhere": json.dumps})
    with pytest.raises(TypeError):
        state_dump(np.array([object()], dtype=object))
    with pytest.raises(TypeError):
        state_dump(lambda: None)


@pytest.mark.parametrize("name", ["os:system", "builtins:eval", "matching.engine.text:re", "matching.engine.text:nope"])
def test_reading_never_looks_up_anything_outside_the_engine(name):
    arrays, meta = state_dump(text.Analyzer(("nl",)))
    spec = json.loads(json.dumps(meta).replace('"matching.engine.text:Analyzer"', json.dumps(name)))
    with pytest.raises(StateError):
        state_load(arrays, spec)


def test_a_state_of_another_format_or_with_missing_arrays_is_refused():
    arrays, meta = state_dump({"x": np.ones(2)})
    with pytest.raises(StateError):
        state_load(arrays, {**meta, "format": meta["format"] + 1})
    with pytest.raises(StateError):
        state_load({}, meta)
