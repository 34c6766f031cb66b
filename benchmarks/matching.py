#!/usr/bin/env python3
"""The matching benchmark (issue #5): a full run on PostgreSQL at scale, next to the bare maths.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_matching \\
        .venv/bin/python benchmarks/matching.py [--reports 100000] [--department-challenges 2000]
        [--societal-challenges 500] [--pilots 100] [--steps 25000,50000] [--probes 200] [--keep]

It (re)creates the database named in DATABASE_URL (which must start with "bench_"; nothing
else is touched), migrates it, and loads believable synthetic data made by recombining
sentences in Dutch, English and Swedish. Reports are loaded in steps (25k, 50k, then the
full number by default); after each step a full run goes through matching.services
(matching_run_start, which runs matching_run_execute: database reads, the engine, the writes
of suggestions and flags, the stored model). At the full size it then prints:

  (a) the full run end to end, with where the time went;
  (b) the same maths bare on the same rows (Engine fit + suggestions + match_flags, no database);
  (c) their ratio;
  (d) incremental scoring of new reports (services.matching_score_item): p50 and p95;
  (e) peak memory of this process (ru_maxrss);
  (f) how the cost grows with the number of reports: times per step and the fitted exponent;
  (g) the next full run after the new reports (the nightly case);
  (h) the sentence encoder (matching/engine/semantic.py): texts per second, and per text.

Sentence vectors: encoding 100,000 texts takes hours on 2 cores (h), which a city pays once,
spread over the days its reports come in, never inside a run. So the loaded rows get stored
vectors made up here (a direction per topic plus noise, under the real text's fingerprint,
so runs take them as current): they cost the run what real ones cost (reading, the maths),
but say nothing about quality, which benchmarks/matching_quality.py measures on real ones.
The new reports of (d) have no vector: they are encoded for real, as the on-commit task does.

Targets (issue #19): the full run at most 1.5x the bare maths; one new report scored in under
20 ms at p95 without its encoding, the encoding itself under 60 ms at p95 (one encoder thread,
MATCHING_ENCODER_THREADS); peak memory < 2 GB; no quadratic growth. (Issue #5 had: full run
< 60 s, at most 2x.) The database is dropped at the end unless --keep.
"""
from __future__ import annotations

import argparse
import logging
import math
import os
import random
import resource
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_matching"

# --- Synthetic texts ------------------------------------------------------------------------------
# Each topic has, per language, report titles and sentences in residents' words, and sentences in
# the jargon of departments and of the innovation team. Texts recombine them with generated street
# names, so the vocabulary keeps growing as a city's does. This is test data, not engine knowledge:
# the engine never sees these lists, only the texts made from them.
TOPICS: dict[str, dict[str, dict[str, list[str]]]] = {
    "flooding": {
        "nl": {"titles": ["Straat blank na de regen", "Kelder onder water", "Put borrelt op bij {street}"],
               "plain": ["Na elke hoosbui staat de {street} onder water.", "Het riool kan het regenwater niet aan.",
                         "Onze kelder loopt vol zodra het hard regent.", "Het water komt uit de putten omhoog."],
               "jargon": ["De bergingscapaciteit van het gemengde rioolstelsel is bij piekbuien onvoldoende.",
                          "Afkoppelen van hemelwater blijft achter bij de klimaatadaptatieopgave.",
                          "Onderdoorgangen moeten bij extreme neerslag tijdig worden afgesloten."]},
        "en": {"titles": ["Street flooded after the rain", "Basement under water again"],
               "plain": ["Every heavy shower turns the {street} into a lake.", "The drains cannot cope with the rain.",
                         "Water comes up out of the drains in front of our house."],
               "jargon": ["Storage capacity of the combined sewer system is insufficient during peak rainfall."]},
        "sv": {"titles": ["Gatan översvämmad efter regnet", "Källaren står under vatten"],
               "plain": ["Efter varje skyfall står {street} under vatten.", "Dagvattnet rinner inte undan i brunnarna.",
                         "Vår källare svämmar över när det regnar mycket."],
               "jargon": ["Dagvattensystemets kapacitet räcker inte vid skyfall."]},
    },
    "litter": {
        "nl": {"titles": ["Afvalbak puilt uit", "Zwerfvuil rond {place}", "Meeuwen trekken zakken open"],
               "plain": ["De afvalbakken bij {place} zitten elk weekend vol.", "Overal ligt plastic en blikjes.",
                         "Meeuwen trekken de vuilniszakken open en het afval waait over straat."],
               "jargon": ["De ledigingsfrequentie van afvalbakken sluit niet aan op piekgebruik.",
                          "Bijplaatsingen naast ondergrondse containers nemen toe."]},
        "en": {"titles": ["Rubbish everywhere near {place}", "Bins overflowing again"],
               "plain": ["The bins near {place} are overflowing every weekend.",
                         "Plastic bottles and cans are lying all over the grass.", "Gulls rip the bin bags open."],
               "jargon": ["Emptying schedules for litter bins do not match peak use."]},
        "sv": {"titles": ["Skräp överallt vid {place}", "Papperskorgarna är fulla"],
               "plain": ["Papperskorgarna vid {place} är fulla varje helg.", "Det ligger plast och burkar överallt.",
                         "Måsarna river upp soppåsarna."],
               "jargon": ["Tömningsintervallen för papperskorgar matchar inte toppbelastningen."]},
    },
    "lighting": {
        "nl": {"titles": ["Lantaarnpaal kapot op de {street}", "Donker fietspad", "Eng tunneltje"],
               "plain": ["Al weken brandt de straatverlichting op de {street} niet.", "Het fietspad is 's avonds pikdonker.",
                         "Ik durf na donker niet meer door het tunneltje te lopen."],
               "jargon": ["Verouderde lichtmasten en lange hersteltijden leiden tot donkere routes.",
                          "Vrouwen mijden na zonsondergang routes met weinig sociale controle."]},
        "en": {"titles": ["Broken street light on {street}", "Dark underpass at night"],
               "plain": ["The street lights on {street} have been out for weeks.", "The cycle path is pitch dark at night.",
                         "I no longer dare to walk through the underpass after dark."],
               "jargon": ["Ageing lamp posts and slow repairs leave routes dark at night."]},
        "sv": {"titles": ["Gatlyktan trasig på {street}", "Mörk gångtunnel"],
               "plain": ["Gatubelysningen på {street} har varit släckt i veckor.", "Cykelbanan är becksvart på kvällen.",
                         "Jag vågar inte gå genom tunneln när det är mörkt."],
               "jargon": ["Gammal belysning och långa reparationstider ger otrygga stråk."]},
    },
    "heat": {
        "nl": {"titles": ["Geen schaduw op het plein", "Woning te heet in de zomer"],
               "plain": ["Er staat geen enkele boom in de {street}.", "In de zomer koelt ons huis 's nachts niet af.",
                         "Op het plein is nergens schaduw of een bankje in het groen."],
               "jargon": ["Hittestress in versteende wijken vraagt om meer kroonbedekking en groene gevels.",
                          "Jonge aanplant valt uit door droogte en te kleine groeiplaatsen."]},
        "en": {"titles": ["No shade anywhere", "Flat far too hot in summer"],
               "plain": ["There is not a single tree on {street}.", "Our flat turns into an oven in summer.",
                         "The square has no shade at all."],
               "jargon": ["Heat stress in paved neighbourhoods calls for more tree canopy."]},
        "sv": {"titles": ["Ingen skugga på torget", "Lägenheten är för varm"],
               "plain": ["Det finns inte ett enda träd på {street}.", "På sommaren blir lägenheten som en ugn.",
                         "Torget saknar skugga helt."],
               "jargon": ["Värmestress i hårdgjorda kvarter kräver fler träd och gröna fasader."]},
    },
    "loneliness": {
        "nl": {"titles": ["Buurvrouw zit alleen", "Buurthuis dicht"],
               "plain": ["Mijn buurvrouw van 84 ziet dagenlang niemand.", "Sinds het buurthuis dicht is, is er geen koffieochtend meer.",
                         "Ouderen in de {street} kennen elkaar niet meer."],
               "jargon": ["Sociale isolatie onder 75-plussers neemt toe en het welzijnsaanbod bereikt hen niet.",
                          "Het wegvallen van ontmoetingsplekken vergroot eenzaamheid."]},
        "en": {"titles": ["Elderly neighbour all alone", "Community centre closed"],
               "plain": ["My elderly neighbour sees nobody for days.", "Since the community centre closed there are no coffee mornings.",
                         "Older people on {street} no longer know each other."],
               "jargon": ["Social isolation among residents over 75 is rising."]},
        "sv": {"titles": ["Grannen sitter ensam", "Träffpunkten har stängt"],
               "plain": ["Min äldre granne träffar ingen på flera dagar.", "Sedan träffpunkten stängde finns inget fika längre.",
                         "De äldre på {street} känner inte varandra längre."],
               "jargon": ["Social isolering bland personer över 75 år ökar."]},
    },
    "school_traffic": {
        "nl": {"titles": ["Ouders parkeren op het fietspad", "Gevaarlijke schoolroute"],
               "plain": ["Bij de school aan de {street} parkeren ouders op de stoep.", "Kinderen moeten de weg op om erlangs te fietsen.",
                         "Elke ochtend is het chaos bij het brengen en halen."],
               "jargon": ["Handhaving op foutparkeren bij scholen heeft slechts tijdelijk effect.",
                          "Het aandeel leerlingen dat lopend of fietsend naar school gaat daalt."]},
        "en": {"titles": ["Parents parking on the bike lane", "Dangerous route to school"],
               "plain": ["Parents park on the pavement at the school on {street}.", "Children have to cycle into the road to get past.",
                         "Drop-off time is chaos every morning."],
               "jargon": ["Parking enforcement near schools only works while officers are present."]},
        "sv": {"titles": ["Föräldrar parkerar på cykelbanan", "Farlig skolväg"],
               "plain": ["Vid skolan på {street} parkerar föräldrar på trottoaren.", "Barnen måste cykla ut i gatan.",
                         "Varje morgon är det kaos vid lämningen."],
               "jargon": ["Parkeringsövervakning vid skolor har bara tillfällig effekt."]},
    },
    "energy_poverty": {
        "nl": {"titles": ["Energierekening niet te betalen", "Tocht en schimmel in huurwoning"],
               "plain": ["Sinds de energieprijzen stegen kunnen we de rekening niet meer betalen.",
                         "De verhuurder isoleert niet en het tocht door de ramen.", "Er zit schimmel op de muren van de slaapkamer."],
               "jargon": ["Betalingsachterstanden op energierekeningen lopen op in de huursector.",
                          "Verduurzaming van particuliere huurwoningen met een slecht energielabel blijft achter."]},
        "en": {"titles": ["Can't pay the energy bill", "Draughty windows and mould"],
               "plain": ["Since prices went up we cannot pay the energy bill.", "The landlord won't fix the draughty windows.",
                         "There is mould on the bedroom walls."],
               "jargon": ["Energy bill arrears are rising among tenants."]},
        "sv": {"titles": ["Elräkningen går inte att betala", "Drag och mögel i hyresrätten"],
               "plain": ["Sedan priserna steg kan vi inte betala elräkningen.", "Hyresvärden lagar inte de dragiga fönstren.",
                         "Det finns mögel på sovrumsväggarna."],
               "jargon": ["Skulder för energikostnader ökar bland hyresgäster."]},
    },
    "crowding": {
        "nl": {"titles": ["Boulevard overvol", "Verkeersinfarct richting strand"],
               "plain": ["Op zomerse dagen staat alles vast richting het strand.", "Bezoekers parkeren in onze woonstraat en laten troep achter.",
                         "De tram naar zee is propvol."],
               "jargon": ["Verkeersafwikkeling richting de kust loopt vast bij piekdrukte.",
                          "De leefbaarheid van woonstraten achter de boulevard staat onder druk."]},
        "en": {"titles": ["Beach road gridlocked", "Tram to the beach packed"],
               "plain": ["On sunny days the road to the beach is gridlocked.", "Visitors park in our residential street.",
                         "The tram to the beach is completely packed."],
               "jargon": ["Traffic towards the coast jams at peak times."]},
        "sv": {"titles": ["Strandpromenaden överfull", "Trafikstockning mot stranden"],
               "plain": ["Soliga dagar står all trafik still mot stranden.", "Besökare parkerar på vår bostadsgata.",
                         "Spårvagnen till havet är fullproppad."],
               "jargon": ["Trafiken mot kusten korkar igen vid toppbelastning."]},
    },
}
GENERIC = {
    "nl": ["Dit speelt al maanden.", "Graag actie van de gemeente.", "Ik heb het al eerder gemeld.",
           "Kunnen jullie hier iets aan doen?", "Het gebeurt vooral in het weekend.", "Buren ergeren zich er ook aan."],
    "en": ["This has been going on for months.", "Please could the city do something.", "I reported this before.",
           "It happens mostly at weekends.", "The neighbours are annoyed too."],
    "sv": ["Det har pågått i flera månader.", "Kan kommunen göra något?", "Jag har anmält det förut.",
           "Det händer mest på helgerna.", "Grannarna är också irriterade."],
}
ONE_OFFS = {
    "nl": ["Openingstijden van het stadhuis op zaterdag?", "Waar kan ik een parkeervergunning aanvragen?",
           "Kerstverlichting hangt er in maart nog.", "Loslopende honden in het park."],
    "en": ["Where do I apply for a parking permit?", "Opening hours of the city office on Saturday?"],
    "sv": ["Var ansöker jag om parkeringstillstånd?", "Vilka öppettider har medborgarkontoret?"],
}
SYLLABLES = ["ber", "lin", "dor", "ka", "mo", "len", "ha", "ven", "duin", "zee", "wil", "beu", "hof", "zand",
             "ker", "vlie", "ro", "tul", "pen", "jas", "ka", "naal", "sted", "gren", "back", "by", "vik", "ström"]
SUFFIXES = {"nl": ["straat", "laan", "weg", "plein", "kade", "hof", "gracht", "singel"],
            "en": ["straat", "laan", "weg", "plein"],
            "sv": ["gatan", "vägen", "torget", "gränd"]}
PLACES = ["Zuiderpark", "Westbroekpark", "het station", "de Markt", "het winkelcentrum", "de Pier", "Laakhaven",
          "de haven", "het Malieveld", "de Bosjes"]
LANGUAGES = (("nl", 0.7), ("en", 0.2), ("sv", 0.1))
DEPARTMENTS = ["dsb", "dso", "ocw", "szw", "ggd", "veiligheid", "dpz", "stadsdeel-centrum", "stadsdeel-scheveningen",
               "stadsdeel-laak", "stadsdeel-escamp", "innovatie"]
THEMES = ["safety-liveability", "mobility", "sustainability-environment", "participation-economy", "tourism-recreation"]
BOUNDS = (52.03, 4.20, 52.12, 4.40)  # south, west, north, east: The Hague


class Texts:
    """Deterministic text maker: the same seed gives the same city."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def language(self) -> str:
        return self.rng.choices([lang for lang, _ in LANGUAGES], [w for _, w in LANGUAGES])[0]

    def street(self, language: str) -> str:
        name = "".join(self.rng.choice(SYLLABLES) for _ in range(self.rng.randint(2, 3)))
        return name.capitalize() + self.rng.choice(SUFFIXES[language])

    def fill(self, sentence: str, language: str) -> str:
        return sentence.format(street=self.street(language), place=self.rng.choice(PLACES))

    def report(self, topic: str | None) -> tuple[str, str, str]:
        language = self.language()
        if topic is None:
            text = self.rng.choice(ONE_OFFS[language])
            return language, text[:60], f"{text} {self.rng.choice(GENERIC[language])} ({self.street(language)})"
        words = TOPICS[topic][language]
        sentences = self.rng.sample(words["plain"], k=min(len(words["plain"]), self.rng.randint(1, 3)))
        sentences.append(self.rng.choice(GENERIC[language]))
        return (language, self.fill(self.rng.choice(words["titles"]), language),
                " ".join(self.fill(s, language) for s in sentences))

    def challenge(self, topic: str, district: str) -> tuple[str, str]:
        words = TOPICS[topic]["nl"]
        sentences = words["jargon"] + self.rng.sample(words["plain"], k=2)
        self.rng.shuffle(sentences)
        title = self.fill(self.rng.choice(words["titles"]), "nl")
        return f"{title} ({district})", " ".join(self.fill(s, "nl") for s in sentences)

    def department_challenge(self, topic: str) -> tuple[str, str]:
        language = "nl" if self.rng.random() < 0.9 else self.rng.choice(["en", "sv"])
        words = TOPICS[topic][language]
        sentences = self.rng.sample(words["jargon"], k=min(2, len(words["jargon"])))
        sentences += self.rng.sample(words["plain"], k=1)
        title = sentences[0].split(",")[0].rstrip(".")[:120]
        return title, " ".join(self.fill(s, language) for s in sentences) + f" Gebied: {self.street(language)}."

    def point(self) -> tuple[float, float]:
        south, west, north, east = BOUNDS
        return round(self.rng.uniform(south, north), 6), round(self.rng.uniform(west, east), 6)


# --- Database ----------------------------------------------------------------------------------------
def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    return urlunsplit(parts._replace(scheme="postgresql", path="/postgres")), name


def recreate_database(url: str) -> None:
    import psycopg

    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def batched(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Directions:
    """Made-up sentence vectors for the bulk-loaded rows (see the module's docstring)."""

    def __init__(self, seed: int):
        import numpy as np

        from matching.engine import semantic

        self.np, self.semantic = np, semantic
        self.rng = np.random.default_rng(seed)
        self.topics = {t: self.rng.normal(size=semantic.DIMENSIONS) for t in sorted(TOPICS)}

    def store(self, item_type: str, rows: list[tuple[int, str, str, str | None]]) -> None:
        """rows: (id, title, description, topic or None)."""
        from matching.engine.engine import WHOLE_KINDS
        from matching.models import TextVector

        np, dim = self.np, self.semantic.DIMENSIONS
        # challenges, department challenges and pilots carry two readings, as the platform stores them (the
        # first 48 tokens and the whole text, side by side: semantic.split)
        whole = item_type == "societal_challenge" or item_type in WHOLE_KINDS
        readings = []
        for _ in range(2 if whole else 1):
            vectors = self.rng.normal(scale=1.5, size=(len(rows), dim))
            for k, (_, _, _, topic) in enumerate(rows):
                if topic:
                    vectors[k] += self.topics[topic]
            readings.append(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
        vectors = np.hstack(readings)
        for batch in batched(iter(range(len(rows))), 5000):
            TextVector.objects.bulk_create([
                TextVector(**{f"{item_type}_id": rows[k][0]}, vector=vectors[k].astype("<f4").tobytes(),
                           fingerprint=self.semantic.fingerprint(rows[k][1], rows[k][2], whole)) for k in batch])


def load_hub(texts: Texts, n_challenges: int, n_departments: int, n_pilots: int, directions: Directions) -> None:
    from pilots.models import Pilot
    from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, Theme

    themes = Theme.objects.bulk_create([Theme(slug=s, name=s.replace("-", " ").capitalize()) for s in THEMES])
    departments = Department.objects.bulk_create([Department(slug=s, name=s.upper()) for s in DEPARTMENTS])
    topics = sorted(TOPICS)
    districts = [texts.street("nl").replace("straat", "") for _ in range(max(1, n_challenges // len(topics)))]
    challenges = []
    for k in range(n_challenges):
        title, description = texts.challenge(topics[k % len(topics)], districts[k // len(topics) % len(districts)])
        challenges.append(SocietalChallenge(title=title[:200], description=description, reference=f"sc-{k}"))
    challenges = SocietalChallenge.objects.bulk_create(challenges, batch_size=2000)
    directions.store("societal_challenge", [(c.pk, c.title, c.description, topics[k % len(topics)])
                                            for k, c in enumerate(challenges)])
    through = SocietalChallenge.themes.through
    through.objects.bulk_create([through(societalchallenge_id=c.pk, theme_id=themes[k % len(themes)].pk)
                                 for k, c in enumerate(challenges)], batch_size=5000)
    own = []
    for k in range(n_departments):
        title, description = texts.department_challenge(topics[k % len(topics)])
        own.append(DepartmentChallenge(title=title[:200], description=description, reference=f"dc-{k}",
                                       department=departments[texts.rng.randrange(len(departments))]))
    own = DepartmentChallenge.objects.bulk_create(own, batch_size=2000)
    directions.store("department_challenge", [(c.pk, c.title, c.description, topics[k % len(topics)])
                                              for k, c in enumerate(own)])
    through = DepartmentChallenge.themes.through
    through.objects.bulk_create([through(departmentchallenge_id=c.pk, theme_id=themes[k % len(themes)].pk)
                                 for k, c in enumerate(own)], batch_size=5000)
    pilots = []
    for k in range(n_pilots):
        first, second = topics[k % len(topics)], topics[(k * 3 + 1) % len(topics)]
        title = TOPICS[first]["nl"]["jargon"][0].split(" ")[0] + f" pilot {k}"
        description = " ".join([TOPICS[first]["nl"]["jargon"][-1], TOPICS[second]["nl"]["jargon"][0]])
        pilots.append(Pilot(title=title, description=description, reference=f"pilot-{k}",
                            lead_department=departments[k % len(departments)]))
    pilots = Pilot.objects.bulk_create(pilots, batch_size=2000)
    directions.store("pilot", [(p.pk, p.title, p.description, topics[k % len(topics)]) for k, p in enumerate(pilots)])


def load_reports(texts: Texts, start: int, stop: int, *, progress: bool = True,
                 directions: Directions | None = None) -> list[int]:
    from tqdm import tqdm

    from participation.models import Report
    from smartcity.models import Theme

    theme_ids = list(Theme.objects.values_list("pk", flat=True))
    topics = sorted(TOPICS)

    def rows() -> Iterator:
        for k in range(start, stop):
            topic = None if texts.rng.random() < 0.2 else texts.rng.choice(topics)
            _, title, description = texts.report(topic)
            latitude, longitude = texts.point()
            report = Report(title=title[:120], description=description, latitude=latitude, longitude=longitude,
                            theme_id=theme_ids[k % len(theme_ids)] if k % 3 == 0 else None, reference=f"r-{k}")
            report.topic = topic
            yield report

    ids: list[int] = []
    with tqdm(total=stop - start, desc=f"reports {start:,}-{stop:,}", unit=" rows", disable=not progress,
              file=sys.stderr) as bar:
        for batch in batched(rows(), 5000):
            ids += [r.pk for r in Report.objects.bulk_create(batch)]
            if directions:
                directions.store("report", [(r.pk, r.title, r.description, r.topic) for r in batch])
            bar.update(len(batch))
    return ids


# --- Measuring ----------------------------------------------------------------------------------------
class Stopwatch:
    """Wraps functions in place to add up the time spent in each: where a full run goes."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        # CPU time of the calling thread: what the work itself costs, without the time spent waiting
        # for a core that other work on the machine holds (the encoder runs on this thread: one
        # OpenMP thread)
        self.cpu: dict[str, float] = defaultdict(float)
        self._undo: list[Callable[[], None]] = []

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.cpu[label] += time.thread_time() - cpu

        setattr(owner, name, timed)
        self._undo.append(lambda: setattr(owner, name, original))

    def restore(self) -> None:
        for undo in reversed(self._undo):
            undo()
        self._undo.clear()


def peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def full_run() -> tuple[float, dict[str, float], dict]:
    from matching import services
    from matching.engine import engine as matching
    from matching.models import MatchingRun

    watch = Stopwatch()
    for name, label in (("engine_challenges", "read"), ("engine_documents", "read"), ("with_vectors", "read vectors"),
                        ("_write_suggestions", "write suggestions"), ("_write_matches", "write flags"),
                        ("model_save", "store model")):
        watch.wrap(services, name, label)
    for name, label in (("fit", "fit"), ("suggestions", "suggestions()"), ("match_flags", "match_flags()")):
        watch.wrap(matching.Engine, name, label)
    try:
        started = time.perf_counter()
        run = services.matching_run_start(by=None)  # tasks run eagerly here: this does the whole run
        run.refresh_from_db()
        if run.status == MatchingRun.Status.QUEUED:  # a broker took the task instead: do the work here
            services.matching_run_execute(run_id=run.pk)
            run.refresh_from_db()
        seconds = time.perf_counter() - started
    finally:
        watch.restore()
    if run.status != MatchingRun.Status.DONE:
        raise SystemExit(f"the run ended {run.status}: {run.error}")
    return seconds, dict(watch.seconds), run.counts


def bare_maths() -> tuple[float, dict[str, float]]:
    import gc

    from matching import services
    from matching.engine.engine import Engine

    services._cache.clear()  # the full run's model: not wanted in memory twice
    gc.collect()
    challenges, documents, _ = services.with_vectors(services.engine_challenges(), services.engine_documents())
    started = time.perf_counter()
    engine = Engine()  # loads the language identifier's model, as the full run does
    made = time.perf_counter()
    engine.fit(challenges, documents)
    fitted = time.perf_counter()
    engine.suggestions()
    suggested = time.perf_counter()
    engine.match_flags()
    flagged = time.perf_counter()
    return flagged - started, {"set-up": made - started, "fit": fitted - made, "suggestions()": suggested - fitted,
                               "match_flags()": flagged - suggested}


def incremental(texts: Texts, start: int, probes: int) -> tuple[list[float], list[float], float, int]:
    """Per new report: the whole of matching_score_item, and the part of it spent encoding."""
    from matching import services
    from matching.engine import semantic

    # new reports straight into the table (bulk_create queues no task), then each scored as the
    # on-commit task would: read the item, score it against the stored model, write its suggestions
    ids = load_reports(texts, start, start + probes, progress=False)
    services._cache.clear()
    started = time.perf_counter()
    services.model_load()  # what a worker pays once after each full run
    load_seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in services._model_paths())
    from matching.engine import engine as matching

    latencies, encoding, parts, cpu = [], [], defaultdict(list), defaultdict(list)
    watch = Stopwatch()
    watch.wrap(semantic.Encoder, "encode", "encode")
    watch.wrap(matching.Engine, "suggest", "suggest()")
    watch.wrap(services, "_write_item_suggestions", "write")  # the lock, the check of the run and the write
    watch.wrap(services, "_reports_near", "reports since the run")  # read within suggest()
    try:
        for pk in ids:
            watch.seconds.clear()
            watch.cpu.clear()
            started, started_cpu = time.perf_counter(), time.thread_time()
            services.matching_score_item(item_type="report", item_id=pk)
            latencies.append(time.perf_counter() - started)
            encoding.append(watch.seconds.get("encode", 0.0))
            cpu["encoding"].append(watch.cpu.get("encode", 0.0))
            cpu["the rest"].append(time.thread_time() - started_cpu - watch.cpu.get("encode", 0.0))
            for label in ("suggest()", "write"):
                parts[label].append(watch.seconds.get(label, 0.0))
            # within suggest(): the reports that came in since the run, near this one (one query)
            parts["of which reports since the run"].append(watch.seconds.get("reports since the run", 0.0))
    finally:
        watch.restore()
    parts["reads and the rest"] = [t - e - sum(parts[k][n] for k in ("suggest()", "write"))
                                   for n, (t, e) in enumerate(zip(latencies, encoding))]
    parts.update({f"CPU time of this thread, {label}": values for label, values in cpu.items()})
    return latencies, encoding, load_seconds, size, parts


def encoder_throughput(texts: Texts, count: int) -> float:
    """Texts per second when the encoder takes reports in batches (manage.py encode_texts, a run)."""
    from matching.services import configured_encoder

    items = [texts.report(texts.rng.choice([None, *sorted(TOPICS)]))[1:] for _ in range(count)]
    encoder = configured_encoder()
    encoder.encode(["warm-up"])
    started = time.perf_counter()
    encoder.encode_items(items)
    return count / (time.perf_counter() - started)


def exponent(sizes: list[int], seconds: list[float]) -> float:
    """Least-squares slope of log(time) against log(size): 1 is linear, 2 quadratic."""
    xs, ys = [math.log(s) for s in sizes], [math.log(t) for t in seconds]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--department-challenges", type=int, default=2_000)
    parser.add_argument("--societal-challenges", type=int, default=500)
    parser.add_argument("--pilots", type=int, default=100)
    parser.add_argument("--steps", default="25000,50000",
                        help="report counts (below --reports) to run at first, for the growth figures")
    parser.add_argument("--probes", type=int, default=200, help="new reports scored one by one")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not urlsplit(url).scheme.startswith("postgres") or not _admin_url(url)[1].startswith("bench_"):
        parser.error("DATABASE_URL must name a PostgreSQL database whose name starts with 'bench_'")
    os.environ["DATABASE_URL"] = url
    os.environ["REDIS_URL"] = ""  # tasks run eagerly in this process: the run is measured here
    media = tempfile.mkdtemp(prefix="bench-matching-")  # the stored model goes here, not in media/
    os.environ["MEDIA_ROOT"] = media
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartcity.settings")
    if os.environ.get("DEBUG") != "1":
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory: not what a worker does

    recreate_database(url)
    import django

    django.setup()
    for name in ("celery", "kombu"):  # the eager task's own log lines would break up the figures
        logging.getLogger(name).setLevel(logging.ERROR)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    texts = Texts(args.seed)
    steps = sorted({int(s) for s in args.steps.split(",") if s.strip() and int(s) < args.reports} | {args.reports})
    print(f"# matching benchmark: {args.reports:,} reports, {args.department_challenges:,} department challenges, "
          f"{args.societal_challenges:,} societal challenges, {args.pilots:,} pilots; PostgreSQL {_admin_url(url)[1]}")
    try:
        started = time.perf_counter()
        directions = Directions(args.seed)
        load_hub(texts, args.societal_challenges, args.department_challenges, args.pilots, directions)
        full_run()  # warm-up on the hub alone: imports, the language model, first queries
        loaded, growth = 0, []
        for step in steps:
            t = time.perf_counter()
            load_reports(texts, loaded, step, directions=directions)
            # as autovacuum does within a minute of a bulk import: a city's table has statistics (the new reports
            # of (d) come after, and the statistics do not know them, as in a day between runs)
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE participation_report")
            print(f"loaded {step - loaded:,} reports in {time.perf_counter() - t:.1f} s")
            loaded = step
            seconds, parts, counts = full_run()
            bare, bare_parts = bare_maths()
            growth.append((step, seconds, parts, counts, bare, bare_parts))
            print(f"full run at {step:>7,} reports: {seconds:6.1f} s  "
                  + "  ".join(f"{k} {v:.1f}" for k, v in parts.items())
                  + f"  | bare {bare:.1f} s  | peak {peak_mb()} MB  {counts}")
        print(f"(data generated and loaded, runs included: {time.perf_counter() - started:.0f} s)\n")

        size, seconds, parts, counts, bare, bare_parts = growth[-1]
        latencies, encoding, load_seconds, model_bytes, parts_of_one = incremental(texts, loaded, args.probes)
        peak = peak_mb()
        ratio = seconds / bare
        p50, p95 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.95) * 1000
        scoring = [t - e for t, e in zip(latencies, encoding)]
        s50, s95 = percentile(scoring, 0.5) * 1000, percentile(scoring, 0.95) * 1000
        e50, e95 = percentile(encoding, 0.5) * 1000, percentile(encoding, 0.95) * 1000
        print(f"(a) full run, end to end:   {seconds:6.1f} s   (target < 60 s)")
        for label, value in parts.items():
            print(f"      {label:<18} {value:6.1f} s")
        maths = sum(parts.get(k, 0) for k in ("fit", "suggestions()", "match_flags()"))
        bare_maths_only = bare - bare_parts["set-up"]
        print(f"      {'the rest':<18} {seconds - sum(parts.values()):6.1f} s   (engine set-up, claiming the run, progress, counts)")
        print(f"(b) bare maths, same rows:  {bare:6.1f} s   "
              + "  ".join(f"{k} {v:.1f}" for k, v in bare_parts.items()) + f"   (without set-up {bare_maths_only:.1f} s; in the full run {maths:.1f} s)")
        print(f"(c) full run / bare maths:  {ratio:6.2f} x   (target <= 1.5); full run / the same maths inside it: "
              f"{seconds / maths:.2f} x (one process, one moment: not moved by other work on the machine between runs)")
        print(f"(d) one new report, matching_score_item over {len(latencies)}: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"(issue 19 sets its targets per part, below); loading the stored model ({model_bytes / 2**20:.0f} MB) once: {load_seconds:.1f} s")
        print(f"    of which encoding its text: p50 {e50:.1f} ms, p95 {e95:.1f} ms (target p95 < 60 ms); "
              f"the rest (reads, scoring, writes): p50 {s50:.1f} ms, p95 {s95:.1f} ms (target p95 < 20 ms)")
        print("    the rest in parts, p50 / p95: " + ", ".join(
            f"{label} {percentile(values, 0.5) * 1000:.1f} / {percentile(values, 0.95) * 1000:.1f} ms"
            for label, values in parts_of_one.items()))
        print(f"    (load average of this 2-core machine while measuring: {os.getloadavg()[0]:.1f}; "
              "other work on it shows up in these latencies first)")
        print(f"(e) peak memory (ru_maxrss of this process): {peak} MB   (target < 2048 MB)")
        if len(growth) >= 2:
            sizes = [g[0] for g in growth]
            print("(f) growth: " + ", ".join(f"{g[0]:,} reports {g[1]:.1f} s (bare {g[4]:.1f} s)" for g in growth))
            print(f"    exponent of time against reports (1 = linear, 2 = quadratic): "
                  f"{exponent(sizes, [g[1] for g in growth]):.2f} end to end, "
                  f"{exponent(sizes, [g[4] for g in growth]):.2f} bare maths")
        again, again_parts, again_counts = full_run()
        print(f"(g) the next full run, after those {len(latencies)} new reports: {again:.1f} s, of which writing "
              f"suggestions {again_parts.get('write suggestions', 0):.1f} s (only those whose score or reasons moved)")
        rate = encoder_throughput(texts, 256)
        print(f"(h) sentence encoder, reports in batches: {rate:.1f} texts/s; "
              f"{(size + args.department_challenges + args.societal_challenges + args.pilots) / rate / 3600:.1f} h "
              f"to encode this whole city once (manage.py encode_texts)")
        verdict = ratio <= 1.5 and s95 < 20 and e95 < 60 and peak < 2048
        print(f"\ntargets (issue 19): ratio {'met' if ratio <= 1.5 else 'NOT met'}, "
              f"one new report without encoding {'met' if s95 < 20 else 'NOT met'}, "
              f"encoding {'met' if e95 < 60 else 'NOT met'}, memory {'met' if peak < 2048 else 'NOT met'}")
        print(f"all targets {'met' if verdict else 'NOT met'}")
    finally:
        shutil.rmtree(media, ignore_errors=True)
        if not args.keep:
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
