"""The default gate criteria: Stockholm's scaling-up lessons as questions. A city edits or adds its own
in the admin. The texts are English msgids (gettext_noop), so pages show them in the reader's language.

Data only (no model imports): the data migration that seeds them imports this module too.
"""
from django.utils.translation import gettext_noop

DEFAULT_CRITERIA = [
    # key, question, explanation, required from stage, options
    (
        "value",
        gettext_noop("For which societal challenges and for whom does it create value?"),
        gettext_noop("More than one societal challenge is the aim: pilots that serve several challenges, across "
                     "departments, are the ones worth scaling."),
        "proof_of_concept",
        [],
    ),
    (
        "success-criteria",
        gettext_noop("What are the success criteria, and what is the baseline?"),
        gettext_noop("Name the KPIs, their value before the pilot and the value that counts as success."),
        "proof_of_concept",
        [],
    ),
    (
        "owner",
        gettext_noop("Who in the line organisation owns it after the experiment?"),
        gettext_noop("A department and a person who will run it as part of normal work once the experiment ends."),
        "pilot",
        [],
    ),
    (
        "data-privacy",
        gettext_noop("Data and privacy: is the DPIA done, and what is measured?"),
        gettext_noop("Which data are collected, where they are kept, and the outcome of the data protection impact "
                     "assessment."),
        "pilot",
        [],
    ),
    (
        "funding",
        gettext_noop("How is it funded after the experiment, and what is the business model?"),
        gettext_noop("Most pilots strand when the experiment's money stops. Who pays for running it afterwards?"),
        "scaling",
        [],
    ),
    (
        "scaling-kind",
        gettext_noop("Which kind of scaling is intended?"),
        gettext_noop("Roll-out: the same solution across the whole city. Expansion: more users or functions where it "
                     "runs now. Replication: the approach copied to other places or organisations."),
        "scaling",
        [gettext_noop("roll-out"), gettext_noop("expansion"), gettext_noop("replication")],
    ),
]


def ensure_default_criteria(GateCriterion) -> int:
    """Create the default criteria that are missing (by key); leaves existing ones as the city set them.
    Takes the model class, so the data migration can pass its historical model. Returns how many were created."""
    created = 0
    for position, (key, question, help_text, required_from, options) in enumerate(DEFAULT_CRITERIA, start=1):
        _, was_created = GateCriterion.objects.get_or_create(
            key=key,
            defaults={"question": question, "help_text": help_text, "required_from": required_from,
                      "options": options, "position": position * 10},
        )
        created += was_created
    return created
