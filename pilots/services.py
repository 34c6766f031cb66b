"""Cross-app reading for the portfolio: where else could a pilot's approach help?

Today this is built from links: department challenges of other departments and clusters of
residents' reports that are linked to the same societal challenges the pilot serves. The
matching engine can add suggestion-based opportunities by extending `pilot_scaling_opportunities`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

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
    department_challenges: QuerySet = field(default_factory=DepartmentChallenge.objects.none)
    report_clusters: list[ReportCluster] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.department_challenges) + len(self.report_clusters)

    def __bool__(self) -> bool:
        return self.count > 0


def pilot_scaling_opportunities(*, pilot: Pilot, max_clusters: int = 10) -> ScalingOpportunities:
    """Open challenges of departments not yet involved, and neighbourhoods where residents report
    problems on the same societal challenges: candidates for expansion, roll-out or replication."""
    challenge_ids = list(pilot.societal_challenges.values_list("pk", flat=True))
    if not challenge_ids:
        return ScalingOpportunities()
    department_challenges = (
        DepartmentChallenge.objects.open()
        .filter(societal_challenges__in=challenge_ids)
        .exclude(department_id__in=pilot.department_ids_involved())
        .exclude(pk__in=pilot.department_challenges.values("pk"))
        .select_related("department")
        .distinct()
        .order_by("department__name", "title")
    )
    rows = (
        Report.objects.public()
        .open()
        .filter(societal_challenges__in=challenge_ids)
        .order_by()
        .values("area_id", "area__name")
        .annotate(count=Count("pk", distinct=True))
        .order_by("-count", "area__name")[:max_clusters]
    )
    clusters = [
        ReportCluster(row["area_id"], row["area__name"] or "", row["count"],
                      row["area_id"] is not None and row["area_id"] == pilot.area_id)
        for row in rows
    ]
    return ScalingOpportunities(department_challenges=department_challenges, report_clusters=clusters)
