from django import template

from pilots.models import Pilot

register = template.Library()


@register.simple_tag
def pilots_serving(challenges):
    """The pilots that serve any of these societal challenges (a queryset or a list of them)."""
    ids = [getattr(challenge, "pk", challenge) for challenge in challenges]
    return Pilot.objects.filter(societal_challenges__in=ids).distinct().order_by("title", "pk")
