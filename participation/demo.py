"""A demo city's worth of reports: about 300 over the last 90 days across the demo neighbourhoods, with
statuses that agree with their routing and history, supporters, and clusters of duplicates (several residents
reporting one concern in their own words, a few metres and days apart).

`city(seed)` makes the rows (plain data, deterministic for a seed); `load_demo_reports` writes them. The
clusters are also the labelled duplicate pairs of benchmarks/duplicates.py: two reports are duplicates when
they belong to one cluster, nothing else. Background reports of the same concern are kept away from a
cluster, so the labels hold.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from participation.models import Report, ReporterContact, StatusChange, Support
from smartcity.models import Area, Department, Theme

S = Report.Status

# concern: theme slug, department slug, and a few ways residents put it (title, description). "{street}" is
# where it is.
CONCERNS: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "light": ("safety-liveability", "stadsbeheer", [
        ("Lantaarnpaal kapot in de {street}", "De straatlantaarn brandt al een week niet. Het is er 's avonds erg donker."),
        ("Straatverlichting uit, {street}", "Sinds het weekend is de verlichting uitgevallen; ik loop er niet graag meer langs."),
        ("Lamp van lichtmast knippert", "In de {street} knippert de lamp de hele nacht en valt dan helemaal uit."),
    ]),
    "pavement": ("mobility", "stadsbeheer", [
        ("Losse stoeptegels {street}", "Een paar tegels liggen los en steken omhoog. Mijn buurvrouw is er al over gestruikeld."),
        ("Kapotte stoep in de {street}", "De stoep is opgedrukt door boomwortels; met een rollator kom je er niet langs."),
        ("Gat in het trottoir", "Voor nummer 20 in de {street} zit een flink gat in het trottoir."),
    ]),
    "pothole": ("mobility", "stadsbeheer", [
        ("Gat in de weg, {street}", "Er zit een diep gat in het asfalt; fietsers moeten uitwijken naar de rijbaan."),
        ("Kuil in het fietspad {street}", "Na de vorst is er een kuil in het fietspad ontstaan. Gevaarlijk in het donker."),
    ]),
    "bin": ("sustainability-environment", "stadsbeheer", [
        ("Afvalbak vol bij de {street}", "De prullenbak is al dagen niet geleegd; het afval ligt ernaast op straat."),
        ("Container zit vol", "De ondergrondse container in de {street} zit vol, er staan vuilniszakken naast."),
        ("Zwerfafval rond de glasbak", "Rond de glasbak in de {street} liggen scherven en plastic zakken."),
    ]),
    "dumping": ("sustainability-environment", "stadsbeheer", [
        ("Grofvuil op de stoep {street}", "Iemand heeft een bank en een matras op de stoep gezet. Het staat er al dagen."),
        ("Dumping van afval", "In de {street} is bouwafval gedumpt naast de bomen."),
    ]),
    "graffiti": ("safety-liveability", "stadsbeheer", [
        ("Graffiti op de muur, {street}", "De gevel van het buurthuis is volgeklad met graffiti."),
        ("Bekladding bushokje", "Het bushokje in de {street} is beklad en de ruit is gebarsten."),
    ]),
    "noise": ("safety-liveability", "veiligheid", [
        ("Geluidsoverlast 's nachts in de {street}", "Tot diep in de nacht harde muziek en geschreeuw op straat."),
        ("Lawaai van scooters", "Elke avond racen scooters door de {street}; de knallende uitlaten houden iedereen wakker."),
    ]),
    "speeding": ("mobility", "veiligheid", [
        ("Te hard rijden in de {street}", "Auto's rijden hier veel te hard, terwijl er kinderen spelen."),
        ("Verkeersdrempel gewenst", "In de {street} wordt structureel te snel gereden. Een drempel zou helpen."),
    ]),
    "bikes": ("mobility", "stadsbeheer", [
        ("Fietsenrekken overvol bij de {street}", "Er is geen plek meer in de rekken; fietsen staan kriskras op de stoep."),
        ("Weesfietsen in het rek", "In de {street} staan al maanden kapotte fietsen zonder eigenaar in het rek."),
    ]),
    "trees": ("sustainability-environment", "stadsbeheer", [
        ("Boom hangt over de {street}", "Na de storm hangt een grote tak gevaarlijk boven het fietspad."),
        ("Dode boom", "De boom voor het huis in de {street} is dood en laat takken vallen."),
    ]),
    "green": ("sustainability-environment", "stedelijke-ontwikkeling", [
        ("Meer groen in de {street}", "Het is hier alleen maar stenen. Plantenbakken of een geveltuin zouden veel doen."),
        ("Hitte op het plein", "Op het plein aan de {street} is geen schaduw; in de zomer is het er niet uit te houden."),
    ]),
    "water": ("sustainability-environment", "stadsbeheer", [
        ("Wateroverlast na regen in de {street}", "Bij elke bui staat de straat blank; de putten zijn verstopt."),
        ("Verstopte put", "De regenput in de {street} is verstopt met bladeren; het water loopt de tuinen in."),
    ]),
    "benches": ("participation-economy", "welzijn", [
        ("Bankje kapot bij de {street}", "Het bankje bij het speelveld is kapot; ouderen kunnen nergens meer zitten."),
        ("Speeltoestel stuk", "Het klimrek op de speelplaats in de {street} is kapot en afgezet met lint."),
    ]),
    "beach": ("tourism-recreation", "stadsdeel-scheveningen", [
        ("Strandopgang vol zand, {street}", "De strandopgang is bedolven onder het zand; met een kinderwagen kom je er niet door."),
        ("Te weinig afvalbakken op het strand", "Bij de opgang aan de {street} liggen blikjes en plastic in het zand."),
    ]),
}

# neighbourhood slug -> its box (as in load_demo_reports.AREAS) and a few streets in it
STREETS: dict[str, tuple[tuple[float, float, float, float], list[str]]] = {
    "scheveningen": ((4.255, 52.095, 4.300, 52.125), ["Keizerstraat", "Gevers Deynootweg", "Badhuisstraat",
                                                       "Stevinstraat", "Boulevard", "Harstenhoekweg"]),
    "centrum": ((4.295, 52.070, 4.330, 52.090), ["Grote Marktstraat", "Prinsegracht", "Spui", "Lange Poten",
                                                  "Wagenstraat", "Dunne Bierkade"]),
    "segbroek": ((4.250, 52.065, 4.295, 52.095), ["Fahrenheitstraat", "Valkenboslaan", "Sportlaan", "Thomsonlaan",
                                                   "Laan van Meerdervoort"]),
    "laak": ((4.310, 52.050, 4.350, 52.070), ["Hoefkade", "Laakkade", "Neherkade", "Goudriaankade",
                                               "Mozartlaan"]),
}

# The clusters: one concern, one place, reported several times in other words (and languages). Each entry:
# concern, neighbourhood, street, and the members (title, description).
CLUSTERS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("pavement", "centrum", "Prinsegracht", [
        ("Loszittende stoeptegel Prinsegracht", "Voor nummer 12 steekt een tegel een paar centimeter uit. Ik ben er bijna over gevallen."),
        ("Stoeptegel steekt uit, Prinsegracht 12", "Tegel ligt los en wipt als je erop stapt. Levensgevaarlijk voor ouderen."),
        ("Loose paving stone on Prinsegracht", "A paving stone near number 12 sticks out; people trip over it every day."),
    ]),
    ("light", "laak", "Mozartlaan", [
        ("Lantaarnpaal kapot bij ingang Zuiderpark", "Bij de ingang aan de Mozartlaan is de lantaarnpaal al weken stuk."),
        ("Donker pad Zuiderpark Mozartlaan", "Het pad vanaf de Mozartlaan het park in is 's avonds aardedonker, de lamp doet het niet."),
        ("Straatlamp Mozartlaan doet het niet", "De straatverlichting bij het park is uitgevallen. Onveilig gevoel als je hier fietst."),
    ]),
    ("bin", "scheveningen", "Boulevard", [
        ("Afvalbakken boulevard puilen uit", "Bij de Pier zijn de afvalbakken rond het middaguur al vol en waait het afval het strand op."),
        ("Prullenbakken vol bij de Pier", "Meeuwen trekken de zakken uit de overvolle prullenbakken op de boulevard."),
        ("Överfulla papperskorgar vid piren", "Papperskorgarna på strandpromenaden är fulla och skräpet blåser ut på stranden."),
    ]),
    ("water", "laak", "Hoefkade", [
        ("Hoefkade staat blank", "Na elke hoosbui staat de Hoefkade onder water en lopen de kelders vol."),
        ("Wateroverlast Hoefkade", "De putten in de Hoefkade kunnen het water niet aan; de stoep staat centimeters onder."),
        ("Ondergelopen straat na regen", "Gisteren weer: de hele straat bij de Hoefkade blank, auto's rijden door diep water."),
    ]),
    ("speeding", "segbroek", "Fahrenheitstraat", [
        ("Te hard rijden bij school Fahrenheitstraat", "Auto's scheuren langs de basisschool, terwijl kinderen oversteken."),
        ("Snelheid bij de school", "In de Fahrenheitstraat rijden auto's veel harder dan 30 bij het schoolplein."),
        ("Verkeersdrempel nodig Fahrenheitstraat", "Graag een drempel bij de school; er wordt hard gereden en het is gevaarlijk."),
    ]),
    ("graffiti", "centrum", "Spui", [
        ("Graffiti op bushokje Spui", "Het bushokje bij het Spui is helemaal beklad."),
        ("Bekladde abri aan het Spui", "Iemand heeft de abri bij de halte Spui vol gespoten met verf."),
    ]),
    ("noise", "scheveningen", "Keizerstraat", [
        ("Geluidsoverlast Keizerstraat na sluitingstijd", "Na twee uur 's nachts hangen groepen rond met harde muziek."),
        ("Nachtelijk lawaai Keizerstraat", "Elk weekend geschreeuw en muziek tot vier uur; bewoners slapen slecht."),
        ("Noise at night in Keizerstraat", "Groups play loud music in the street after the bars close; nobody can sleep."),
    ]),
    ("dumping", "laak", "Goudriaankade", [
        ("Bank en matras gedumpt Goudriaankade", "Op de stoep bij de Goudriaankade staat grofvuil: een bank en een matras."),
        ("Grofvuil op straat", "Al dagen staat er een oude bank met een matras aan de Goudriaankade. Ratten eromheen."),
    ]),
    ("bikes", "centrum", "Grote Marktstraat", [
        ("Fietsenrekken vol Grote Marktstraat", "Bij de Grote Marktstraat is geen plek in de rekken, fietsen blokkeren de stoep."),
        ("Fietsen op de stoep bij winkelstraat", "Voetgangers moeten de weg op omdat de stoep vol fietsen staat in de Grote Marktstraat."),
        ("Cyklar blockerar trottoaren", "Cykelställen vid Grote Marktstraat är fulla och cyklarna står på trottoaren."),
    ]),
    ("trees", "segbroek", "Valkenboslaan", [
        ("Tak hangt over fietspad Valkenboslaan", "Na de storm hangt een grote tak half afgebroken boven het fietspad."),
        ("Afgebroken tak Valkenboslaan", "Een dikke tak is afgescheurd en kan elk moment op het fietspad vallen."),
    ]),
    ("beach", "scheveningen", "Harstenhoekweg", [
        ("Strandopgang Harstenhoekweg onder het zand", "Je komt er met een rolstoel of kinderwagen niet meer door."),
        ("Zand op de strandopgang", "De opgang bij de Harstenhoekweg is dichtgewaaid met zand."),
    ]),
    ("benches", "laak", "Neherkade", [
        ("Bankjes weggehaald bij buurthuis Neherkade", "Oudere buren zaten daar graag; nu zijn de bankjes weg."),
        ("Bankje kapot Neherkade", "Het bankje bij het buurthuis aan de Neherkade is kapot en er is nergens anders om te zitten."),
    ]),
]

# Where a theme's reports go when nothing more specific is known (the first demo reports).
THEME_DEPARTMENTS = {"safety-liveability": "veiligheid", "mobility": "stadsbeheer",
                     "sustainability-environment": "stadsbeheer", "participation-economy": "welzijn",
                     "tourism-recreation": "stadsdeel-scheveningen"}

MESSAGES = {
    "route": "We hebben uw melding doorgezet naar de juiste afdeling.",
    "progress": "Er is een ploeg ingepland; we houden u op de hoogte.",
    "resolved": "Het is opgelost. Dank voor uw melding.",
    "not_actionable": "Hier kunnen wij niets mee: het valt niet onder de gemeente. We hebben het doorgegeven.",
    "duplicate": "Dit was al gemeld. We pakken het samen met de andere melding op.",
}


@dataclass
class Step:
    days_after: float
    from_status: str
    to_status: str
    department: str  # slug, "" for none
    message: str


@dataclass
class DemoReport:
    key: str                 # a reference: unique, stable for a seed
    title: str
    description: str
    latitude: float
    longitude: float
    theme: str
    department: str          # slug, "" when not routed
    status: str
    days_ago: float
    supporters: int
    steps: list[Step] = field(default_factory=list)
    cluster: str = ""        # the cluster it belongs to, "" for none
    duplicate_of: str = ""   # the key of the report it was merged into
    priority: str = Report.Priority.NORMAL


def _point(rng: random.Random, box: tuple[float, float, float, float]) -> tuple[float, float]:
    min_lon, min_lat, max_lon, max_lat = box
    return round(rng.uniform(min_lat, max_lat), 6), round(rng.uniform(min_lon, max_lon), 6)


def _near(rng: random.Random, latitude: float, longitude: float, metres: float) -> tuple[float, float]:
    angle, distance = rng.uniform(0, 2 * math.pi), rng.uniform(0, metres)
    dlat = distance * math.cos(angle) / 111_320
    dlon = distance * math.sin(angle) / (111_320 * math.cos(math.radians(latitude)))
    return round(latitude + dlat, 6), round(longitude + dlon, 6)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    dlat = (a[0] - b[0]) * 111_320
    dlon = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(dlat, dlon)


def _lifecycle(rng: random.Random, days_ago: float, department: str) -> tuple[str, str, list[Step]]:
    """A status that fits the report's age, the department that goes with it, and the history that led there."""
    closed_share = min(0.85, days_ago / 60)  # the older, the likelier it is done
    still_new = 0.7 if days_ago < 2 else 0.35 if days_ago < 10 else 0.03  # triage keeps up, mostly
    if rng.random() < still_new:
        return S.NEW, "", []
    route_after = min(days_ago * 0.5, rng.uniform(0.2, 2.0))
    steps = [Step(route_after, S.NEW, S.ACCEPTED, department, MESSAGES["route"])]
    if rng.random() < 0.05:
        return S.NOT_ACTIONABLE, "", [Step(route_after, S.NEW, S.NOT_ACTIONABLE, "", MESSAGES["not_actionable"])]
    if rng.random() > closed_share + 0.15:
        return S.ACCEPTED, department, steps
    progress_after = route_after + min(days_ago - route_after, rng.uniform(0.5, 5)) * 0.9
    steps.append(Step(progress_after, S.ACCEPTED, S.IN_PROGRESS, department, MESSAGES["progress"]))
    if rng.random() > closed_share:
        return S.IN_PROGRESS, department, steps
    resolved_after = progress_after + (days_ago - progress_after) * rng.uniform(0.2, 0.9)
    steps.append(Step(resolved_after, S.IN_PROGRESS, S.RESOLVED, department, MESSAGES["resolved"]))
    return S.RESOLVED, department, steps


def city(seed: int = 18, total: int = 300, prefix: str = "demo-c", days_back: float = 0,
         distractors: int = 2) -> list[DemoReport]:
    """About `total` reports over the last 90 days (`days_back` earlier still: another city's worth of time, for
    the benchmark's generated sets): the clusters, each with `distractors` reports about other concerns on the
    same spot in the same weeks, then the background."""
    rng = random.Random(seed)
    reports: list[DemoReport] = []
    centres: list[tuple[str, tuple[float, float]]] = []
    for number, (concern, area, _street, members) in enumerate(CLUSTERS, start=1):
        theme, department, _variants = CONCERNS[concern]
        centre = _point(rng, STREETS[area][0])
        centres.append((concern, centre))
        first_day = days_back + rng.uniform(3, 28)  # the whole cluster inside the 30-day window
        cluster = f"{prefix}-k{number:02d}"
        merged_one = number % 4 == 0  # a few clusters were handled already: one member merged
        for index, (title, description) in enumerate(members):
            days_ago = max(0.2, first_day - index * rng.uniform(0.3, 3))
            latitude, longitude = _near(rng, *centre, 40)
            key = f"{cluster}-{index + 1}"
            status, routed, steps = _lifecycle(rng, days_ago, department)
            if status in Report.CLOSED_STATUSES:  # duplicates of an open concern are open themselves
                status, routed = S.ACCEPTED, department
                steps = [Step(min(days_ago * 0.5, 1.0), S.NEW, S.ACCEPTED, department, MESSAGES["route"])]
            duplicate_of = ""
            if merged_one and index == len(members) - 1:
                duplicate_of = reports[-index].key  # the cluster's first
                steps = [Step(min(days_ago, 0.5), S.NEW, S.DUPLICATE, "", MESSAGES["duplicate"])]
                status, routed = S.DUPLICATE, ""
            reports.append(DemoReport(key, title, description, latitude, longitude, theme, routed, status, days_ago,
                                      rng.randint(0, 6), steps, cluster, duplicate_of,
                                      Report.Priority.HIGH if rng.random() < 0.15 else Report.Priority.NORMAL))
    number = 0
    for cluster_number, (concern, _area, _street, _members) in enumerate(CLUSTERS, start=1):
        centre = centres[cluster_number - 1][1]
        street = _street
        others = [c for c in sorted(CONCERNS) if c != concern]
        for _ in range(distractors):
            number += 1
            other = rng.choice(others)
            theme, department, variants = CONCERNS[other]
            title, description = rng.choice(variants)
            latitude, longitude = _near(rng, *centre, 120)
            days_ago = days_back + rng.uniform(0.2, 35)
            status, routed, steps = _lifecycle(rng, days_ago, department)
            reports.append(DemoReport(f"{prefix}-{number:03d}", title.format(street=street),
                                      description.format(street=street), latitude, longitude, theme, routed, status,
                                      days_ago, int(rng.expovariate(0.5)), steps))
    while len(reports) < total:
        number += 1
        concern = rng.choice(sorted(CONCERNS))
        theme, department, variants = CONCERNS[concern]
        area = rng.choice(sorted(STREETS))
        box, streets = STREETS[area]
        latitude, longitude = _point(rng, box)
        # Away from a cluster of the same concern: a cluster's labels say which reports are duplicates.
        if any(c == concern and _metres((latitude, longitude), centre) < 400 for c, centre in centres):
            continue
        title, description = rng.choice(variants)
        street = rng.choice(streets)
        days_ago = days_back + rng.uniform(0.05, 90)
        status, routed, steps = _lifecycle(rng, days_ago, department)
        reports.append(DemoReport(
            f"{prefix}-{number:03d}", title.format(street=street), description.format(street=street), latitude,
            longitude, theme, routed, status, days_ago, int(rng.expovariate(0.5)), steps,
            priority=Report.Priority.HIGH if rng.random() < 0.08 else Report.Priority.NORMAL,
        ))
    return reports


def write(rows: list[DemoReport]) -> int:
    """Write the reports (those whose reference is not there yet) in bulk: a few statements, not thousands."""
    existing = set(Report.objects.filter(reference__in=[row.key for row in rows]).values_list("reference", flat=True))
    rows = [row for row in rows if row.key not in existing]
    if not rows:
        return 0
    now = timezone.now()
    themes = {theme.slug: theme for theme in Theme.objects.all()}
    departments = {department.slug: department for department in Department.objects.all()}
    areas = list(Area.objects.all())

    def area_of(latitude: float, longitude: float):
        return next((area for area in areas if area.min_latitude <= latitude <= area.max_latitude
                     and area.min_longitude <= longitude <= area.max_longitude), None)

    reports = []
    for row in rows:
        created_at = now - timedelta(days=row.days_ago)
        closed = row.status in Report.CLOSED_STATUSES
        closed_at = created_at + timedelta(days=row.steps[-1].days_after) if closed and row.steps else None
        reports.append(Report(
            title=row.title, description=row.description, latitude=row.latitude, longitude=row.longitude,
            theme=themes.get(row.theme), area=area_of(row.latitude, row.longitude), status=row.status,
            department=departments.get(row.department), reference=row.key, created_at=created_at,
            closed_at=closed_at, support_count=row.supporters, priority=row.priority,
            version=1 + len(row.steps),
        ))
    # the reports merged into another one after that one, which they point at
    merged = {row.key: row.duplicate_of for row in rows if row.duplicate_of}
    Report.objects.bulk_create([report for report in reports if report.reference not in merged])
    by_key = {report.reference: report for report in reports}
    for report in reports:
        if report.reference in merged:
            report.duplicate_of = by_key.get(merged[report.reference]) or Report.objects.get(
                reference=merged[report.reference])
    Report.objects.bulk_create([report for report in reports if report.reference in merged])
    history, supports, contacts = [], [], []
    for row in rows:
        report = by_key[row.key]
        history.append(StatusChange(report=report, from_status="", to_status=Report.Status.NEW,
                                    created_at=report.created_at, notified_at=now))
        department = None
        for step in row.steps:
            previous, department = department, departments.get(step.department)
            history.append(StatusChange(
                report=report, from_status=step.from_status, to_status=step.to_status,
                from_department=previous, to_department=department, message=step.message,
                created_at=report.created_at + timedelta(days=step.days_after), notified_at=now,
            ))
        supports += [Support(report=report, email=f"{row.key}-{n}@example.org") for n in range(row.supporters)]
        if sum(map(ord, row.key)) % 2 == 0 or row.cluster:  # half the reporters left an address
            contacts.append(ReporterContact(report=report, email=f"melder-{row.key}@example.org",
                                            name="Demo melder", confirmed_at=report.created_at))
    StatusChange.objects.bulk_create(history)
    Support.objects.bulk_create(supports)
    ReporterContact.objects.bulk_create(contacts)
    return len(rows)


def duplicate_pairs(reports: list[DemoReport]) -> set[frozenset[str]]:
    """The labels: every two reports of one cluster (by key)."""
    clusters: dict[str, list[str]] = {}
    for report in reports:
        if report.cluster:
            clusters.setdefault(report.cluster, []).append(report.key)
    return {frozenset((a, b)) for keys in clusters.values() for a in keys for b in keys if a < b}
