"""Demo open innovation (issue #21): one open call with two proposals, one of them accepted into a pilot, and
residents' feedback on the running crowd-sensor pilot.

Runs after `load_demo_pilots` (load_demo calls it by name). Safe to run again: the call, the organisations and
the proposals are matched by title or name, the feedback by question and account. A partner account
`partner@example.org` acts for the verified company; its password is printed once, like the other demo accounts.
"""
from __future__ import annotations

import datetime as dt
import secrets

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from pilots.models import (
    Assessment,
    Call,
    FeedbackAnswer,
    FeedbackQuestion,
    Organisation,
    OrganisationMember,
    OrganisationVerification,
    Pilot,
    Proposal,
    Stage,
)
from smartcity.models import DepartmentChallenge, SocietalChallenge, User

CALL = {
    "title": "Rustigere avonden op de boulevard",
    "description": "Op zomeravonden is het druk en luid op de boulevard. Bewoners melden geluidsoverlast en "
                   "zwerfafval; handhaving en reiniging lopen achter de feiten aan. Welke oplossing helpt bewoners, "
                   "ondernemers en bezoekers tegelijk?",
    "offers_location": "Het boulevarddeel tussen de Pier en het Zwarte Pad, van mei tot september",
    "offers_data": "Drukte-tellingen per strandopgang (open data) en de meldingen van bewoners",
    "budget_min": 25_000, "budget_max": 90_000,
    "criteria": "Haalbaarheid op de boulevard\nKosten na de proef\nPrivacy van bezoekers",
}

ORGANISATIONS = [
    ("Stille Stad BV", Organisation.Kind.COMPANY, "partner@example.org"),
    ("Lectoraat Leefbare Stad", Organisation.Kind.KNOWLEDGE_INSTITUTION, None),
]

PROPOSALS = [
    {
        "organisation": "Stille Stad BV", "title": "Geluidsabsorberende plantenbakken met sensoren",
        "solution": "Plantenbakken met een geluiddempende wand langs de terrassen; sensoren meten het geluid en "
                    "tonen bezoekers op een bord wanneer het te luid wordt.",
        "needs": "Een vergunning voor twintig bakken, stroom bij vier opgangen en de meldingen over geluid.",
        "cost": (40_000, 70_000),
        "effects": "Klachten over geluidsoverlast per week; meldingen; 40; 25\nAvonden boven 65 dB per maand; avonden; 18; 8",
        "extra": ["demo-sc-zwerfafval"],
        "scaling": "Het onderhoud van de bakken moet in het groenbestek; handhaving moet de sensordata mogen gebruiken.",
        "accept": True,
    },
    {
        "organisation": "Lectoraat Leefbare Stad", "title": "Avondcoaches uit de buurt",
        "solution": "Jongeren uit Scheveningen spreken bezoekers 's avonds aan en wijzen op afvalbakken en rustige "
                    "plekken; studenten meten het effect.",
        "needs": "Een contactpersoon bij handhaving en een ruimte bij de haven.",
        "cost": (25_000, 45_000), "effects": "Bezoekers aangesproken per avond; gesprekken; 0; 60",
        "extra": [], "scaling": "Het jongerenwerk moet avonduren kunnen inzetten.", "accept": False,
    },
]

FEEDBACK_PILOT = "demo-pilot-drukte"
FEEDBACK_QUESTION = "Is het 's avonds rustiger geworden op de boulevard?"
# (weeks ago, answer 1-5, comment): the share of positive answers rises over the weeks.
FEEDBACK = [(5, 2, "Nog steeds lawaai na elven."), (5, 3, ""), (4, 3, ""), (4, 4, ""), (3, 2, ""), (3, 4, ""),
            (2, 4, "De borden helpen, mensen lopen door."), (2, 5, ""), (1, 4, ""), (1, 5, "Veel rustiger bij de Pier."),
            (0, 4, ""), (0, 5, "")]


class Command(BaseCommand):
    help = "Load a demo open call with two proposals (one accepted into a pilot) and residents' feedback. Idempotent."

    def handle(self, *args, **options) -> None:
        team = User.objects.filter(is_innovation_team=True).order_by("pk").first()
        passwords: list[tuple[str, str]] = []
        with transaction.atomic():
            call = self._call(team)
            organisations = self._organisations(team, passwords)
            for spec in PROPOSALS:
                self._proposal(call, organisations[spec["organisation"]], spec, team)
            self._feedback()
        self.stdout.write("The demo open call, its proposals and the residents' feedback are up to date.")
        for email, password in passwords:
            self.stdout.write(self.style.WARNING(f"Demo partner account created (password shown once): {email} {password}"))

    def _call(self, team) -> Call:
        call, _ = Call.objects.update_or_create(
            title=CALL["title"],
            defaults={key: value for key, value in CALL.items() if key != "title"} | {
                "deadline": timezone.localdate() + dt.timedelta(days=45), "status": Call.Status.PUBLISHED},
            create_defaults={**CALL, "deadline": timezone.localdate() + dt.timedelta(days=45),
                             "status": Call.Status.PUBLISHED, "published_at": timezone.now(), "created_by": team},
        )
        call.societal_challenges.set(SocietalChallenge.objects.filter(reference="demo-sc-boulevard"))
        call.department_challenges.set(DepartmentChallenge.objects.filter(reference__in=["demo-dc-11", "demo-dc-02"]))
        return call

    def _organisations(self, team, passwords) -> dict[str, Organisation]:
        found = {}
        for name, kind, email in ORGANISATIONS:
            organisation, created = Organisation.objects.get_or_create(name=name, defaults={"kind": kind})
            if created:
                organisation.set_status(Organisation.Status.VERIFIED, by=team, note="KvK en website gecontroleerd (demo).")
            elif not OrganisationVerification.objects.filter(organisation=organisation).exists():
                organisation.set_status(Organisation.Status.VERIFIED, by=team, note="Demo.")
            if email:
                user = User.objects.filter(email=email).first()
                if user is None:
                    password = secrets.token_urlsafe(12)
                    user = User.objects.create_user(email=email, password=password, display_name="Partner (Stille Stad)")
                    user.emailaddress_set.create(email=email, verified=True, primary=True)
                    passwords.append((email, password))
                OrganisationMember.objects.get_or_create(organisation=organisation, user=user)
            found[name] = organisation
        return found

    def _proposal(self, call: Call, organisation: Organisation, spec: dict, team) -> None:
        proposal, created = Proposal.objects.get_or_create(
            call=call, organisation=organisation, title=spec["title"],
            defaults={"solution": spec["solution"], "needs_from_city": spec["needs"], "cost_min": spec["cost"][0],
                      "cost_max": spec["cost"][1], "expected_effects": spec["effects"], "scaling_changes": spec["scaling"]},
        )
        if not created:
            return
        proposal.societal_challenges.set(SocietalChallenge.objects.filter(reference__in=spec["extra"]))
        proposal.submit(by=None)
        if team is not None:
            Assessment.objects.create(proposal=proposal, assessor=team, notes="Demo-beoordeling.", scores={
                "challenges": 4 if spec["accept"] else 2, **dict.fromkeys(call.criteria_list(), 4 if spec["accept"] else 3)})
            if spec["accept"]:
                proposal.accept(by=team, stage=Stage.IDEA, reason="Breed: geluid én zwerfafval, en het onderhoud is geregeld.")

    def _feedback(self) -> None:
        pilot = Pilot.objects.filter(reference=FEEDBACK_PILOT, stage__in=[Stage.PILOT, Stage.SCALING]).first()
        if pilot is None:
            return
        question = FeedbackQuestion.objects.filter(pilot=pilot, text=FEEDBACK_QUESTION).first()
        if question is None:
            question = FeedbackQuestion.objects.create(pilot=pilot, text=FEEDBACK_QUESTION)
        if question.answers.exists():
            return
        now = timezone.now()
        for number, (weeks_ago, value, comment) in enumerate(FEEDBACK, start=1):
            email = f"demo-bewoner-{number}@example.org"
            user = User.objects.filter(email=email).first() or User.objects.create_user(
                email=email, password=None, display_name=f"Bewoner {number}")
            answer = FeedbackAnswer.objects.create(question=question, user=user, value=value, comment=comment)
            moment = now - dt.timedelta(weeks=weeks_ago)
            FeedbackAnswer.objects.filter(pk=answer.pk).update(created_at=moment, updated_at=moment)
        for weeks_ago in sorted({weeks for weeks, _value, _comment in FEEDBACK}, reverse=True):
            question.refresh_kpis(now - dt.timedelta(weeks=weeks_ago))
