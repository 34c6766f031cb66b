"""Cross-app reading for the portfolio: where else could a pilot's approach help?

Today this is built from links: department challenges of other departments and clusters of
residents' reports that are linked to the same societal challenges the pilot serves. The
matching engine can add suggestion-based opportunities by extending `pilot_scaling_opportunities`.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count

from participation.models import Report
from pilots.models import Pilot
from smartcity.models import DepartmentChallenge


@dataclass(frozen=True)
class ReportCluster:
    """Open public reports in one neighbourhood (None: no neighbourhood known) on the pilot's challenges."""

    area_id: int | None
    area_name: str
    count: int
    is_pilot_area: bool


@dataclass
class ScalingOpportunities:
    department_challenges: list[DepartmentChallenge] = field(default_factory=list)
    report_clusters: list[ReportCluster] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.department_challenges) + len(self.report_clusters)

    def __bool__(self) -> bool:
        return self.count > 0


def pilot_scaling_opportunities(*, pilot: Pilot, max_clusters: int = 10) -> ScalingOpportunities:
    """Open challenges of departments not yet involved, and neighbourhoods where residents report
    problems on the same societal challenges: candidates for expansion, roll-out or replication."""
    return pilots_scaling_opportunities(pilots=[pilot], max_clusters=max_clusters)[pilot.pk]


def pilots_scaling_opportunities(*, pilots: list[Pilot], max_clusters: int = 10) -> dict[int, ScalingOpportunities]:
    """The same for many pilots at once, in a constant number of queries (the portfolio dashboard)."""
    ids = [pilot.pk for pilot in pilots]
    challenges: dict[int, set[int]] = defaultdict(set)
    for pilot_id, challenge_id in Pilot.societal_challenges.through.objects.filter(pilot_id__in=ids).values_list(
            "pilot_id", "societalchallenge_id"):
        challenges[pilot_id].add(challenge_id)
    involved: dict[int, set[int]] = defaultdict(set)
    for pilot in pilots:
        if pilot.lead_department_id:
            involved[pilot.pk].add(pilot.lead_department_id)
    for pilot_id, department_id in Pilot.departments.through.objects.filter(pilot_id__in=ids).values_list(
            "pilot_id", "department_id"):
        involved[pilot_id].add(department_id)
    addressed: dict[int, set[int]] = defaultdict(set)
    for pilot_id, challenge_id in Pilot.department_challenges.through.objects.filter(pilot_id__in=ids).values_list(
            "pilot_id", "departmentchallenge_id"):
        addressed[pilot_id].add(challenge_id)

    all_challenges = set().union(*challenges.values()) if challenges else set()
    candidates: dict[int, DepartmentChallenge] = {}
    links: dict[int, set[int]] = defaultdict(set)  # department challenge -> societal challenges
    for item in (DepartmentChallenge.objects.open().filter(societal_challenges__in=all_challenges)
                 .select_related("department").distinct().order_by("department__name", "title")):
        candidates[item.pk] = item
    for item_id, challenge_id in DepartmentChallenge.societal_challenges.through.objects.filter(
            departmentchallenge_id__in=candidates, societalchallenge_id__in=all_challenges).values_list(
            "departmentchallenge_id", "societalchallenge_id"):
        links[item_id].add(challenge_id)

    clusters: dict[int, list[ReportCluster]] = defaultdict(list)
    area_of = {pilot.pk: pilot.area_id for pilot in pilots}
    rows = (
        Report.objects.public().open()
        .filter(societal_challenges__pilots__in=ids)
        .order_by()
        .values("societal_challenges__pilots", "area_id", "area__name")
        .annotate(count=Count("pk", distinct=True))
        .order_by("-count", "area__name")
    )
    for row in rows:
        pilot_id = row["societal_challenges__pilots"]
        if len(clusters[pilot_id]) < max_clusters:
            clusters[pilot_id].append(ReportCluster(
                row["area_id"], row["area__name"] or "", row["count"],
                row["area_id"] is not None and row["area_id"] == area_of[pilot_id]))

    found: dict[int, ScalingOpportunities] = {}
    for pilot in pilots:
        if not challenges[pilot.pk]:
            found[pilot.pk] = ScalingOpportunities()
            continue
        others = [item for pk, item in candidates.items()
                  if links[pk] & challenges[pilot.pk] and item.department_id not in involved[pilot.pk]
                  and pk not in addressed[pilot.pk]]
        found[pilot.pk] = ScalingOpportunities(department_challenges=others, report_clusters=clusters[pilot.pk])
    return found
