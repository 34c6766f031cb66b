"""Demo reports for Den Haag / Scheveningen: a few neighbourhoods, residents' reports with photos left out,
supports, comments and a public history.

Runs after `load_demo` (it links to that command's themes, demo resident and societal challenges by slug,
email and reference, and skips what is not there). Safe to run again: reports are matched by reference.
The neighbourhood outlines are rough rectangles for the demo, not the city's real boundaries.
"""
from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from participation import demo
from participation.models import Comment, Report, StatusChange
from participation.services import report_create
from smartcity.geo import bounding_box
from smartcity.models import Area, Department, SocietalChallenge, Theme, User


def _box(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> dict:
    ring = [[min_lon, min_lat], [max_lon, min_lat], [max_lon, max_lat], [min_lon, max_lat], [min_lon, min_lat]]
    return {"type": "Polygon", "coordinates": [ring]}


AREAS = [
    ("scheveningen", "Scheveningen", _box(4.255, 52.095, 4.300, 52.125)),
    ("centrum", "Centrum", _box(4.295, 52.070, 4.330, 52.090)),
    ("segbroek", "Segbroek", _box(4.250, 52.065, 4.295, 52.095)),
    ("laak", "Laak", _box(4.310, 52.050, 4.350, 52.070)),
]

# reference, title, description, latitude, longitude, theme slug, status, days ago, societal challenge reference
REPORTS = [
    ("demo-r-01", "Afvalbakken boulevard puilen uit", "Op zonnige dagen zijn de afvalbakken bij de Pier al rond "
     "twaalf uur vol. Het afval waait over het strand en de meeuwen halen de zakken open.", 52.1130, 4.2790,
     "sustainability-environment", Report.Status.IN_PROGRESS, 20, "demo-sc-zwerfafval"),
    ("demo-r-02", "Zoekverkeer in de Keizerstraat", "Elk warm weekend rijden auto's rondjes door de Keizerstraat "
     "op zoek naar een parkeerplek. Fietsers en kinderen komen er bijna niet meer tussendoor.", 52.1075, 4.2705,
     "mobility", Report.Status.ACCEPTED, 12, "demo-sc-boulevard"),
    ("demo-r-03", "Geluidsoverlast na sluitingstijd", "Na twee uur 's nachts blijven groepen op het Havenhoofd "
     "hangen met harde muziek. Bewoners slapen slecht.", 52.1025, 4.2630, "safety-liveability",
     Report.Status.NEW, 3, "demo-sc-boulevard"),
    ("demo-r-04", "Ondergrondse container Prins Hendrikplein vol", "De container voor restafval zit al drie dagen "
     "vol; er staan zakken naast en er lopen ratten rond.", 52.0820, 4.2880, "sustainability-environment",
     Report.Status.RESOLVED, 5, "demo-sc-zwerfafval"),
    ("demo-r-05", "Dubbel parkeren bij de basisschool", "Bij het brengen en halen staan ouders dubbel geparkeerd "
     "in de Fahrenheitstraat. Kinderen steken tussen de auto's door over.", 52.0735, 4.2740, "mobility",
     Report.Status.IN_PROGRESS, 15, "demo-sc-verkeersveiligheid-school"),
    ("demo-r-06", "Te hard rijden langs de Laan van Meerdervoort", "Auto's rijden hier veel harder dan 50. Een "
     "drempel of flitspaal bij het zebrapad zou helpen.", 52.0760, 4.2820, "mobility", Report.Status.NEW, 5,
     "demo-sc-verkeersveiligheid-school"),
    ("demo-r-07", "Geen schaduw op het Spuiplein", "In de zomer is het plein een hitte-eiland: geen bomen, geen "
     "bankjes in de schaduw. Ouderen blijven binnen.", 52.0790, 4.3175, "sustainability-environment",
     Report.Status.ACCEPTED, 30, "demo-sc-hitte"),
    ("demo-r-08", "Straat blank na elke hoosbui", "Bij elke flinke bui staat de Hoefkade onder water en lopen "
     "kelders vol. De putten kunnen het niet aan.", 52.0620, 4.3240, "sustainability-environment",
     Report.Status.NEW, 8, "demo-sc-wateroverlast"),
    ("demo-r-09", "Kapotte lantaarnpaal in het Zuiderpark", "De lantaarnpaal bij de ingang aan de Mozartlaan doet "
     "het al weken niet. 's Avonds is het pad aardedonker.", 52.0575, 4.2950, "safety-liveability",
     Report.Status.NOT_ACTIONABLE, 50, ""),
    ("demo-r-10", "Bankjes weggehaald bij het buurthuis", "Oudere buren zaten daar graag even. Nu er geen bankjes "
     "meer zijn, komt er niemand meer naar buiten.", 52.0640, 4.3310, "participation-economy",
     Report.Status.NEW, 2, "demo-sc-eenzaamheid"),
]

TIMELINE = {
    Report.Status.ACCEPTED: [(Report.Status.NEW, Report.Status.ACCEPTED, "We hebben uw melding doorgezet naar de juiste afdeling.")],
    Report.Status.IN_PROGRESS: [
        (Report.Status.NEW, Report.Status.ACCEPTED, "We hebben uw melding doorgezet naar de juiste afdeling."),
        (Report.Status.ACCEPTED, Report.Status.IN_PROGRESS, "Er is een ploeg ingepland; we houden u op de hoogte."),
    ],
    Report.Status.RESOLVED: [
        (Report.Status.NEW, Report.Status.IN_PROGRESS, "De container wordt vandaag extra geleegd."),
        (Report.Status.IN_PROGRESS, Report.Status.RESOLVED, "De container is geleegd en het ophaalschema aangepast."),
    ],
    Report.Status.NOT_ACTIONABLE: [
        (Report.Status.NEW, Report.Status.NOT_ACTIONABLE,
         "Deze lantaarnpaal is van de netbeheerder; we hebben de melding aan hen doorgegeven."),
    ],
}


class Command(BaseCommand):
    help = "Load demo neighbourhoods and residents' reports (after load_demo). Safe to run again."

    def handle(self, *args, **options):
        with transaction.atomic():
            for slug, name, geometry in AREAS:
                min_lon, min_lat, max_lon, max_lat = bounding_box(geometry)
                Area.objects.get_or_create(slug=slug, defaults={
                    "name": name, "geometry": geometry, "min_longitude": min_lon, "min_latitude": min_lat,
                    "max_longitude": max_lon, "max_latitude": max_lat,
                })
            resident = User.objects.filter(email="bewoner@example.org").first()
            created = 0
            for row in tqdm(REPORTS, desc="reports", unit="report", disable=options["verbosity"] == 0):
                created += self._report(resident, *row)
            created += demo.write(demo.city())
        self.stdout.write(self.style.SUCCESS(f"{created} demo reports created."))

    def _report(self, resident, reference, title, description, latitude, longitude, theme_slug, status,
                days_ago, challenge_reference) -> bool:
        if Report.objects.filter(reference=reference).exists():
            return False
        report = report_create(
            title=title, description=description, latitude=latitude, longitude=longitude,
            theme=Theme.objects.filter(slug=theme_slug).first(), reference=reference,
            author=resident if reference in ("demo-r-02", "demo-r-07") else None,
        )
        created_at = timezone.now() - timedelta(days=days_ago)
        Report.objects.filter(pk=report.pk).update(created_at=created_at)
        StatusChange.objects.filter(report=report).update(created_at=created_at)
        # routed as its theme's reports are, unless it was closed without routing
        department = None
        if status in (Report.Status.ACCEPTED, Report.Status.IN_PROGRESS, Report.Status.RESOLVED):
            department = Department.objects.filter(slug=demo.THEME_DEPARTMENTS.get(theme_slug, "")).first()
        for step, (from_status, to_status, message) in enumerate(TIMELINE.get(status, []), start=1):
            StatusChange.objects.create(report=report, from_status=from_status, to_status=to_status, message=message,
                                        from_department=department if step > 1 else None, to_department=department,
                                        created_at=created_at + timedelta(days=step), notified_at=timezone.now())
        closed_at = min(created_at + timedelta(days=2), timezone.now()) if status in Report.CLOSED_STATUSES else None
        Report.objects.filter(pk=report.pk).update(status=status, closed_at=closed_at, department=department)
        challenge = SocietalChallenge.objects.filter(reference=challenge_reference).first() if challenge_reference else None
        if challenge is not None:
            report.societal_challenges.add(challenge)
        for number in range(days_ago % 7):
            report.add_support(email=f"buur{number}@example.org")
        if resident is not None and reference in ("demo-r-01", "demo-r-08"):
            report.add_support(user=resident)
            Comment.objects.create(report=report, author=resident, text="Hier heb ik ook last van, vooral in het weekend.")
        return True
