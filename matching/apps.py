from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = _("Matching")

    def ready(self) -> None:
        """Scoring is wired in here, not in the apps whose items it scores: they never import matching.
        A save only queues a task (on commit, through the outbox); the save never depends on it."""
        from django.db.models.signals import m2m_changed, post_save, pre_save

        from matching import checks, services  # noqa: F401  (checks registers itself)
        from smartcity.models import DepartmentChallenge
        from smartcity.signals import societal_challenge_curated

        for model in services.SCORED_FIELDS:
            uid = f"matching-{model._meta.label_lower}"
            pre_save.connect(services.remember_scored_values, sender=model, dispatch_uid=uid)
            post_save.connect(services.queue_scoring_after_save, sender=model, dispatch_uid=uid)
        m2m_changed.connect(services.queue_scoring_after_themes, sender=DepartmentChallenge.themes.through,
                            dispatch_uid="matching-department-challenge-themes")
        for model, item_type in services.ITEM_TYPES.items():  # a link ends "about no societal challenge"
            m2m_changed.connect(services.settle_decisions_after_link,
                                sender=model.societal_challenges.through,  # type: ignore[attr-defined]
                                dispatch_uid=f"matching-{item_type}-links")
        societal_challenge_curated.connect(services.refresh_after_curation, dispatch_uid="matching-curation")

        # Possible duplicates of a report are ranked by the engine's text similarity (one ranking, in participation).
        from matching.similarity import report_text_similarity
        from participation.duplicates import register_similarity

        register_similarity(report_text_similarity)
