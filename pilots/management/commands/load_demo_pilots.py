"""Demo pilots for Den Haag / Scheveningen, with gate history, KPIs and measurements.

Runs after `load_demo` (it links to that command's departments and societal challenges by slug and
reference, and skips links that are not there). Safe to run again: pilots are matched by reference,
and history and measurements are only added to a pilot that has none.
"""
from __future__ import annotations

import datetime as dt
import math

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from pilots.criteria import ensure_default_criteria
from pilots.models import KPI, STAGE_ORDER, Gate, GateCriterion, MeasurementRow, Partner, Pilot, Stage
from smartcity.models import Department, DepartmentChallenge, SocietalChallenge, User

# The gate answers every pilot gives in its own words: for whom it creates value (VALUE below, per pilot),
# then what it measures, who owns it afterwards, data and privacy, funding and the kind of scaling.
ANSWERS = {
    "success-criteria": "Zie de KPI's: nulmeting in het eerste kwartaal, doel na een jaar.",
    "owner": "Het teamhoofd van de lead-afdeling neemt het beheer over na de proef.",
    "data-privacy": "DPIA afgerond; alleen tellingen, geen beelden of persoonsgegevens.",
    "funding": "Vanaf volgend jaar uit de exploitatiebegroting van de lead-afdeling.",
    "scaling-kind": "roll-out",
}
VALUE = {
    "demo-pilot-drukte": "Bewoners en bezoekers van de boulevard; de afdelingen die met drukte, afval en handhaving werken.",
    "demo-pilot-containers": "Bewoners van Duinoord en het Zeeheldenkwartier, die minder bijplaatsingen zien; de "
                             "reiniging, die alleen volle containers leegt.",
    "demo-pilot-schoolstraat": "Kinderen en ouders op weg naar twee basisscholen in Segbroek; verkeer en handhaving.",
    "demo-pilot-hittekaart": "Ouderen en jonge gezinnen in de Schilderswijk en Transvaal; de afdelingen die bomen "
                             "planten en hitteplannen maken.",
    "demo-pilot-riool": "Bewoners van de oude wijken, die minder water op straat krijgen; het rioolbeheer.",
    "demo-pilot-buurtbot": "Eenzame ouderen in Laak en de buurtwerkers die hen bezoeken.",
    "demo-pilot-bakfiets": "Ondernemers aan de haven en de bewoners die minder bestelbusjes in hun straat willen.",
}

PILOTS = [
    {
        "reference": "demo-pilot-drukte", "title": "Drukte-sensoren op de boulevard", "stage": Stage.SCALING,
        "description": "Tellers bij de strandopgangen meten hoe druk het is. Bezoekers zien op borden en online waar "
                       "het rustiger is, en handhaving en reiniging zetten mensen in waar het nodig is.",
        "location": "Boulevard en haven, Scheveningen", "lead": "stadsdeel-scheveningen",
        "departments": ["veiligheid", "stadsbeheer"],
        "challenges": ["demo-sc-boulevard", "demo-sc-zwerfafval"], "department_challenges": ["demo-dc-02", "demo-dc-03"],
        "partners": [("Kustsensoren BV", Partner.Kind.COMPANY), ("De Haagse Hogeschool", Partner.Kind.KNOWLEDGE_INSTITUTE),
                     ("Bewonersvereniging Duinoord", Partner.Kind.RESIDENT_GROUP)],
        "months_ago": 26, "budget": 180_000,
        "results": "Op drukke dagen verspreiden bezoekers zich beter over de opgangen, en er komen minder klachten "
                   "over geluid binnen.",
        "kpis": [("Klachten over geluidsoverlast per week", "meldingen", 40, 25, KPI.Direction.LOWER, 40, -0.6),
                 ("Bezoekers via rustige opgangen", "%", 18, 35, KPI.Direction.HIGHER, 18, 0.7)],
    },
    {
        "reference": "demo-pilot-containers", "title": "Containers die melden wanneer ze vol zijn", "stage": Stage.PILOT,
        "description": "Sensoren in ondergrondse containers melden hoe vol ze zijn, zodat de wagen komt voordat er "
                       "zakken naast worden gezet.",
        "location": "Duinoord en Zeeheldenkwartier", "lead": "stadsbeheer", "departments": [],
        "challenges": ["demo-sc-zwerfafval"], "department_challenges": ["demo-dc-04"],
        "partners": [("Afvalsensor NL", Partner.Kind.COMPANY)], "months_ago": 14, "budget": 65_000,
        "results": "",
        "kpis": [("Bijplaatsingen per week", "meldingen", 120, 60, KPI.Direction.LOWER, 120, -1.2)],
    },
    {
        "reference": "demo-pilot-schoolstraat", "title": "Schoolstraat met slimme verkeersborden",
        "stage": Stage.PROOF_OF_CONCEPT,
        "description": "Bij twee basisscholen is de straat tijdens het halen en brengen dicht voor auto's. Borden met "
                       "een sensor tonen of de straat open of dicht is.",
        "location": "Twee basisscholen in Segbroek", "lead": "stedelijke-ontwikkeling", "departments": ["veiligheid"],
        "challenges": ["demo-sc-verkeersveiligheid-school"], "department_challenges": ["demo-dc-05", "demo-dc-06"],
        "partners": [("Ouderraad De Duinroos", Partner.Kind.RESIDENT_GROUP)], "months_ago": 11, "budget": 20_000,
        "results": "", "kpis": [], "last_decision_days_ago": 300,
    },
    {
        "reference": "demo-pilot-hittekaart", "title": "Hittekaart met een meetnet van bewoners", "stage": Stage.IDEA,
        "description": "Bewoners hangen thermometers in hun tuin of op hun balkon. Zo ontstaat een kaart van de "
                       "heetste plekken, en weten wijkteams welke ouderen ze bij een hittegolf eerst bellen.",
        "location": "Schilderswijk en Transvaal", "lead": "welzijn", "departments": ["stedelijke-ontwikkeling"],
        "challenges": ["demo-sc-hitte", "demo-sc-eenzaamheid"], "department_challenges": ["demo-dc-08"],
        "partners": [], "months_ago": 2, "budget": None, "results": "", "kpis": [],
    },
    {
        "reference": "demo-pilot-riool", "title": "Regenmeters in het riool", "stage": Stage.OPERATIONAL,
        "description": "Meters in het riool voorspellen waar het water bij een zware bui blijft staan, zodat de "
                       "gemalen op tijd bijspringen.",
        "location": "Oude wijken in de hele stad", "lead": "stadsbeheer", "departments": [],
        "challenges": ["demo-sc-wateroverlast"], "department_challenges": ["demo-dc-10"],
        "partners": [("Waterschap", Partner.Kind.OTHER)], "months_ago": 40, "budget": 90_000,
        "results": "Sinds de invoering zijn er een derde minder meldingen van water op straat na zware buien.",
        "kpis": [("Meldingen water op straat na zware buien", "meldingen", 30, 20, KPI.Direction.LOWER, 30, -0.4)],
    },
    {
        "reference": "demo-pilot-buurtbot", "title": "Chatbot voor eenzame ouderen", "stage": Stage.STOPPED,
        "description": "Een chatbot op een tablet moest ouderen wijzen op activiteiten in de buurt.",
        "location": "Laak", "lead": "welzijn", "departments": [],
        "challenges": ["demo-sc-eenzaamheid"], "department_challenges": ["demo-dc-09"],
        "partners": [("Zorgtech Start-up", Partner.Kind.COMPANY)], "months_ago": 20, "budget": 30_000,
        "results": "",
        "lessons": "Ouderen die zich eenzaam voelen willen een mens spreken, geen tablet. Een volgende proef moet "
                   "beginnen bij buurtgenoten en het wijkteam, met techniek hooguit als hulpmiddel.",
        "kpis": [],
    },
    {
        "reference": "demo-pilot-bakfiets", "title": "Deelbakfietsen voor ondernemers aan de haven", "stage": Stage.PILOT,
        "description": "Ondernemers aan de haven bevoorraden hun zaak met elektrische deelbakfietsen in plaats van "
                       "bestelbusjes.",
        "location": "Haven Scheveningen", "lead": "stadsdeel-scheveningen", "departments": [],
        "challenges": ["demo-sc-boulevard"], "department_challenges": ["demo-dc-11"],
        "partners": [("Ondernemersvereniging Haven", Partner.Kind.OTHER)], "months_ago": 16, "budget": 45_000,
        "results": "", "kpis": [], "ended_days_ago": 45, "last_decision_days_ago": 90,
    },
]


class Command(BaseCommand):
    help = "Load demo pilots with gates, KPIs and measurements (after load_demo). Idempotent."

    def handle(self, *args, **options) -> None:
        by = User.objects.filter(is_innovation_team=True).order_by("pk").first()
        now = timezone.now()
        with transaction.atomic():
            ensure_default_criteria(GateCriterion)  # normally seeded by a migration; a flushed database lacks them
            for spec in tqdm(PILOTS, desc="demo pilots", unit="pilot", disable=options["verbosity"] == 0):
                self._load(spec, by, now)
        self.stdout.write(f"{len(PILOTS)} demo pilots are up to date.")

    def _load(self, spec: dict, by, now: dt.datetime) -> None:
        started = now - dt.timedelta(days=30 * spec["months_ago"])
        end_date = timezone.localdate(now) - dt.timedelta(days=spec["ended_days_ago"]) if "ended_days_ago" in spec else None
        pilot, created = Pilot.objects.update_or_create(
            reference=spec["reference"],
            defaults={
                "title": spec["title"], "description": spec["description"], "location": spec["location"],
                "lead_department": Department.objects.filter(slug=spec["lead"]).first(),
                "budget": spec["budget"], "results_summary": spec["results"],
                "start_date": timezone.localdate(started), "end_date": end_date,
            },
            create_defaults={
                "title": spec["title"], "description": spec["description"], "location": spec["location"],
                "lead_department": Department.objects.filter(slug=spec["lead"]).first(),
                "budget": spec["budget"], "results_summary": spec["results"],
                "start_date": timezone.localdate(started), "end_date": end_date,
                "stage": Stage.IDEA, "stage_changed_at": started, "created_by": by,
            },
        )
        pilot.departments.set(Department.objects.filter(slug__in=spec["departments"]))
        pilot.societal_challenges.set(SocietalChallenge.objects.filter(reference__in=spec["challenges"]))
        pilot.department_challenges.set(DepartmentChallenge.objects.filter(reference__in=spec["department_challenges"]))
        for name, kind in spec["partners"]:
            Partner.objects.get_or_create(pilot=pilot, name=name, defaults={"kind": kind})
        if not pilot.gates.exists():
            self._walk(pilot, spec, by, started, now)
        for name, unit, baseline, target, direction, start_value, slope in spec["kpis"]:
            kpi, _ = KPI.objects.get_or_create(
                pilot=pilot, name=name,
                defaults={"unit": unit, "baseline": baseline, "target": target, "direction": direction},
            )
            if not kpi.measurements.exists():
                kpi.upsert_measurements(self._series(start_value, slope, now))

    def _walk(self, pilot: Pilot, spec: dict, by, started: dt.datetime, now: dt.datetime) -> None:
        """Gate by gate from idea to the pilot's stage, spread over its months, each step back-dated."""
        final = spec["stage"]
        path = list(STAGE_ORDER[1:STAGE_ORDER.index(final) + 1]) if final != Stage.STOPPED else [Stage.PROOF_OF_CONCEPT]
        steps = len(path) + (1 if final == Stage.STOPPED else 0)
        value = VALUE.get(spec["reference"], spec["description"])
        pilot.record_initial_stage(by=by)
        pilot.gates.update(decided_on=timezone.localdate(started))
        # The stranded demo pilots' last decision is long ago; the others' is a few weeks back.
        last = now - dt.timedelta(days=spec.get("last_decision_days_ago", 20))
        span = (last - started) / max(steps, 1)
        for number, stage in enumerate(path, start=1):
            moment = started + span * number
            if number == 1 and stage == Stage.PROOF_OF_CONCEPT and len(path) > 1:
                # A "revise" first: the history shows that gates are real decisions.
                pilot.advance(stage, by=by, decision=Gate.Decision.REVISE, answers={"value": value},
                              decided_on=timezone.localdate(moment - dt.timedelta(days=21)),
                              notes="Eerst de nulmeting regelen.")
            pilot.advance(stage, by=by, answers={**ANSWERS, "value": value}, decided_on=timezone.localdate(moment))
            Pilot.objects.filter(pk=pilot.pk).update(stage_changed_at=moment)
        if final == Stage.STOPPED:
            moment = started + span * steps
            pilot.advance(Stage.STOPPED, by=by, lessons_learned=spec["lessons"], decided_on=timezone.localdate(moment))
            Pilot.objects.filter(pk=pilot.pk).update(stage_changed_at=moment)

    @staticmethod
    def _series(start: float, slope: float, now: dt.datetime) -> list[MeasurementRow]:
        """Weekly counts over the last 30 weeks: a trend with a little seasonal wobble, the same every run."""
        monday = timezone.localtime(now).replace(hour=9, minute=0, second=0, microsecond=0)
        monday -= dt.timedelta(days=monday.weekday())
        return [
            MeasurementRow(monday - dt.timedelta(weeks=30 - week),
                           round(start + slope * week + 3 * math.sin(week / 2)), "demo")  # counts: whole numbers
            for week in range(30)
        ]
