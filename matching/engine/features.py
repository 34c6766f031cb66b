"""Texts to two sparse TF-IDF spaces: Snowball stems, and character n-grams of words.

Character n-grams (like scikit-learn's ``char_wb``) are built once per unique token; a
document's n-gram vector is its token counts times that token-to-n-gram matrix. So the cost
grows with the vocabulary, not with the characters in the corpus, and a score against a
profile factorises: ``x . p = tokens(x) @ (grams @ p) / |x|``, which keeps 100,000 reports
against 500 profiles a product with a (tokens x profiles) matrix instead of with every n-gram.
The same per-token n-grams catch compounds, inflection, typos and cognates across languages.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
import scipy.sparse as sp

from .text import Analyzer


@dataclass
class Analysed:
    language: str
    stems: list[str]
    tokens: list[str]      # folded surface tokens, aligned with stems
    n_title: int           # the first n_title stems/tokens come from the title


@dataclass
class Vectors:
    """One block of documents in both spaces; ``chars`` is materialised lazily."""
    words: sp.csr_matrix         # l2-normalised stem TF-IDF
    tokens: sp.csr_matrix        # weighted token counts, rows scaled so tokens @ grams is l2-normal
    grams: sp.csr_matrix         # token -> idf-weighted n-grams (shared, may have extra rows)

    def chars(self, rows: Sequence[int] | np.ndarray | None = None) -> sp.csr_matrix:
        """The n-gram vectors of some rows (or all: large, items x n-grams, so rarely wanted)."""
        tokens = self.tokens if rows is None else self.tokens[rows]
        return sp.csr_matrix(tokens @ self.grams)

    def __len__(self) -> int:
        return self.words.shape[0]


def ngrams(token: str, low: int, high: int) -> list[str]:
    padded = f" {token} "
    grams: list[str] = []
    for n in range(low, high + 1):
        if n > len(padded):
            break
        grams.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return grams


def idf(df: np.ndarray, n_docs: int | np.ndarray) -> np.ndarray:
    # Unlike the textbook "+1" smoothing, a term found in most texts weighs almost nothing:
    # with no stop-word lists per language, this is what keeps "de", "the", "och" quiet.
    return np.maximum(np.log((n_docs + 1.0) / (df + 0.5)), 0.0).astype(np.float32)


CHUNK = 8192  # rows per block where an (items x n-grams) product would not fit in memory at once


def shared_weight(rows: np.ndarray, squares: np.ndarray, shared: np.ndarray, n: int) -> np.ndarray:
    """Per text (``rows``: each entry's text, of ``n``): the share of its squared weights (``squares``) on the entries
    that ``shared`` marks; 1 for a text without weight."""
    total = np.bincount(rows, weights=squares, minlength=n)
    on_shared = np.bincount(rows, weights=squares * shared, minlength=n)
    return np.divide(on_shared, total, out=np.ones(n), where=total > 0)


def product_row_norms(left: sp.csr_matrix, right: sp.csr_matrix) -> np.ndarray:
    """Row norms of left @ right, block by block: the product itself is never held whole."""
    return np.concatenate([row_norms(sp.csr_matrix(left[i:i + CHUNK] @ right))
                           for i in range(0, left.shape[0], CHUNK)] or [np.zeros(0)])


def product_document_frequency(left: sp.csr_matrix, right: sp.csr_matrix) -> np.ndarray:
    """In how many rows of left @ right each column is non-zero, block by block."""
    df = np.zeros(right.shape[1], dtype=np.int64)
    for i in range(0, left.shape[0], CHUNK):
        block = sp.csr_matrix(left[i:i + CHUNK] @ right)
        df += np.bincount(block.indices, minlength=right.shape[1])
    return df


def row_norms(matrix: sp.spmatrix) -> np.ndarray:
    return np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())


def scale_rows(matrix: sp.spmatrix, factors: np.ndarray) -> sp.csr_matrix:
    # row by row on the data itself: a diagonal matrix product builds three sparse matrices
    # on the way, which is most of the cost of scoring one new text
    scaled = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    scaled.data *= np.repeat(np.asarray(factors, dtype=np.float32), np.diff(scaled.indptr))
    return scaled


def scale_columns(matrix: sp.spmatrix, factors: np.ndarray) -> sp.csr_matrix:
    scaled = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    scaled.data *= np.asarray(factors, dtype=np.float32)[scaled.indices]
    return scaled


def l2(matrix: sp.spmatrix) -> sp.csr_matrix:
    norms = row_norms(matrix)
    norms[norms == 0] = 1.0
    return scale_rows(matrix, 1.0 / norms)


class Vectorizer:
    """Fits vocabularies and IDF once; transforms new texts against them."""

    def __init__(self, analyzer: Analyzer, ngram_range: tuple[int, int] = (3, 5),
                 title_weight: float = 2.0):
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.title_weight = title_weight
        self.stem_index: dict[str, int] = {}
        self.token_index: dict[str, int] = {}
        self.gram_index: dict[str, int] = {}
        self.word_idf = np.zeros(0, dtype=np.float32)
        self.word_df = np.zeros(0, dtype=np.int32)  # in how many fitted texts each stem occurs
        self.n_texts = 0
        self.gram_idf = np.zeros(0, dtype=np.float32)
        self.grams = sp.csr_matrix((0, 0), dtype=np.float32)

    def analyse(self, title: str, description: str) -> Analysed:
        language = self.analyzer.language(f"{title}. {description}")
        title_stems, title_tokens = self.analyzer.analyze(title, language)
        body_stems, body_tokens = self.analyzer.analyze(description, language)
        return Analysed(language, title_stems + body_stems, title_tokens + body_tokens, len(title_stems))

    def _counts(self, analysed: Sequence[Analysed], index: dict[str, int], attr: str,
                grow: bool) -> sp.csr_matrix:
        """Sublinear term counts (texts x terms), title terms counting ``title_weight`` times."""
        matrix = self._weighted_counts(analysed, index, attr, grow)
        matrix.data = 1.0 + np.log(matrix.data)  # sublinear: repeating a word adds little
        return matrix

    def _weighted_counts(self, analysed: Sequence[Analysed], index: dict[str, int], attr: str,
                         grow: bool) -> sp.csr_matrix:
        # one flat pass over all terms, dict look-ups at C speed
        flat = list(chain.from_iterable(getattr(item, attr) for item in analysed))
        if grow:
            for term in dict.fromkeys(flat):  # new terms in order of first appearance: deterministic
                if term not in index:
                    index[term] = len(index)
            columns = np.fromiter(map(index.__getitem__, flat), dtype=np.int64, count=len(flat))
        else:
            columns = np.fromiter(map(index.get, flat, repeat(-1, len(flat))), dtype=np.int64, count=len(flat))
        del flat
        lengths = np.fromiter((len(getattr(item, attr)) for item in analysed), dtype=np.int64, count=len(analysed))
        titles = np.fromiter((item.n_title for item in analysed), dtype=np.int64, count=len(analysed))
        rows = np.repeat(np.arange(len(analysed)), lengths)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
        position = np.arange(len(columns)) - np.repeat(starts, lengths)
        weights = np.where(position < np.repeat(titles, lengths), self.title_weight, 1.0).astype(np.float32)
        keep = columns >= 0
        matrix = sp.csr_matrix((weights[keep], (rows[keep], columns[keep])), shape=(len(analysed), len(index)))
        matrix.sum_duplicates()
        return matrix

    def _gram_counts(self, tokens: Sequence[str], grow: bool) -> sp.csr_matrix:
        rows, cols = [], []
        for row, token in enumerate(tokens):
            for gram in ngrams(token, *self.ngram_range):
                column = self.gram_index.get(gram)
                if column is None:
                    if not grow:
                        continue
                    column = self.gram_index[gram] = len(self.gram_index)
                rows.append(row)
                cols.append(column)
        data = np.ones(len(rows), dtype=np.float32)
        return sp.csr_matrix((data, (rows, cols)), shape=(len(tokens), len(self.gram_index)))

    def fit_transform(self, texts: Sequence[tuple[str, str]]) -> tuple[list[Analysed], Vectors]:
        analyzer = self.analyzer
        joined = [f"{t}. {d}" for t, d in texts]
        analyzer.set_default_language(joined)
        raw = [(analyzer.tokens(t), analyzer.tokens(d)) for t, d in texts]
        # folded tokens do not depend on the language: count them first, and let their
        # counts tell the language of each text (see LanguageDetector.detect_many)
        analysed = [Analysed("", [], analyzer.fold_all(a + b), len(a)) for a, b in raw]
        token_weights = self._weighted_counts(analysed, self.token_index, "tokens", grow=True)
        languages = analyzer.detector.detect_many(joined, token_weights, analyzer.default_language)
        for item, (a, b), language in zip(analysed, raw, languages):
            item.language = language
            item.stems = analyzer.stem_all(a + b, language)
        del raw
        # readable words for stems: a deterministic sample of texts is enough to know them
        for k in range(0, len(texts), max(1, len(texts) // 5000)):
            analyzer.remember_surface(analysed[k].stems, *texts[k])
        word_counts = self._counts(analysed, self.stem_index, "stems", grow=True)
        token_counts = token_weights
        token_counts.data = 1.0 + np.log(token_counts.data)
        vocabulary = sorted(self.token_index, key=self.token_index.__getitem__)
        gram_counts = self._gram_counts(vocabulary, grow=True)
        n = self.n_texts = len(texts)
        self.word_df = np.bincount(word_counts.indices, minlength=word_counts.shape[1]).astype(np.int32)
        self.word_idf = idf(self.word_df, n)
        self.gram_idf = idf(product_document_frequency(token_counts, gram_counts), n)
        self.grams = sp.csr_matrix(gram_counts @ sp.diags(self.gram_idf))
        return analysed, self._vectors(word_counts, token_counts, self.grams)

    def transform(self, texts: Sequence[tuple[str, str]]) -> tuple[list[Analysed], Vectors]:
        """New texts against the fitted vocabularies. Their token columns are their own tokens
        only (``Vectors.grams`` holds those tokens' n-gram rows): scoring a new report must not
        copy the city's whole token vocabulary or n-gram matrix, which grow with the city."""
        analysed = [self.analyse(t, d) for t, d in texts]
        word_counts = self._counts(analysed, self.stem_index, "stems", grow=False)
        index = self.token_index
        present = list(dict.fromkeys(tok for a in analysed for tok in a.tokens))
        known = [tok for tok in present if tok in index]
        # a token never seen at fit time still shares n-grams with known words
        unseen = sorted(tok for tok in present if tok not in index)
        local = {tok: k for k, tok in enumerate(known + unseen)}
        token_counts = self._counts(analysed, local, "tokens", grow=False)
        grams = sp.csr_matrix(self.grams[[index[tok] for tok in known]])
        if unseen:
            extra = scale_columns(self._gram_counts(unseen, grow=False), self.gram_idf)
            grams = sp.vstack([grams, extra], format="csr")
        return analysed, self._vectors(word_counts, token_counts, grams)

    def shared_share(self, analysed: Sequence[Analysed], own: Sequence[np.ndarray | None]) -> np.ndarray:
        """Per text that was not fitted as it is (a new one, or a fitted one changed): the share of its stems'
        weight (squared TF-IDF) on stems that another text of the fitted corpus uses, weighed as a fit with it
        would weigh them. ``own``: the stem columns of the fitted text it replaces, if any; that earlier version
        is no other text. A new text counts one text more; a stem the corpus never used, one text."""
        present = list(dict.fromkeys(stem for a in analysed for stem in a.stems))
        local = {stem: k for k, stem in enumerate(present)}
        counts = self._counts(analysed, local, "stems", grow=False)
        columns = np.fromiter((self.stem_index.get(stem, -1) for stem in present), dtype=np.int64, count=len(present))
        rows = np.repeat(np.arange(len(analysed)), np.diff(counts.indptr))
        fitted = columns[counts.indices]  # each entry's column in the fitted vocabulary, or -1
        others = np.where(fitted >= 0, self.word_df[np.maximum(fitted, 0)] if len(self.word_df) else 0, 0).astype(np.int64)
        texts = np.full(len(analysed), self.n_texts + 1)
        for k, earlier in enumerate(own):
            if earlier is not None:
                texts[k] = self.n_texts  # it takes its earlier version's place
                lo, hi = counts.indptr[k], counts.indptr[k + 1]
                others[lo:hi] -= np.isin(fitted[lo:hi], earlier)
        squares = (counts.data * idf(others + 1, texts[rows]).astype(np.float64)) ** 2
        return shared_weight(rows, squares, others > 0, len(analysed))

    def _vectors(self, word_counts: sp.csr_matrix, token_counts: sp.csr_matrix,
                 grams: sp.csr_matrix) -> Vectors:
        words = l2(scale_columns(word_counts, self.word_idf))
        norms = product_row_norms(token_counts, grams)
        norms[norms == 0] = 1.0
        return Vectors(words, scale_rows(token_counts, 1.0 / norms), grams)
