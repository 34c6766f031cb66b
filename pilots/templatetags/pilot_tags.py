from django import template

from pilots.models import Pilot

register = template.Library()


@register.simple_tag
def pilots_serving(challenges):
    """The pilots that serve any of these societal challenges (a queryset or a list of them)."""
    ids = [getattr(challenge, "pk", challenge) for challenge in challenges]
    return Pilot.objects.filter(societal_challenges__in=ids).distinct().order_by("title", "pk")


@register.simple_tag
def calls_for(challenge):
    """The published open calls on this societal challenge, open ones first (the challenge hub shows them)."""
    from pilots.models import Call

    return list(Call.objects.published().filter(societal_challenges=challenge).order_by("status", "-deadline", "pk"))
