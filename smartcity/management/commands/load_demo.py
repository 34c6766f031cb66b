"""Load a believable demo set for Den Haag / Scheveningen. Safe to run again: nothing is duplicated."""
from __future__ import annotations

import secrets

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from smartcity.models import Department, DepartmentChallenge, Membership, SocietalChallenge, Theme, User

THEMES = [
    # slug, nl, en, sv, target handling time in days
    ("safety-liveability", "Veiligheid en leefbaarheid", "Safety and liveability", "Trygghet och livskvalitet", 5),
    ("mobility", "Mobiliteit", "Mobility", "Mobilitet", 10),
    ("sustainability-environment", "Duurzaamheid en milieu", "Sustainability and environment", "Hållbarhet och miljö", 15),
    ("participation-economy", "Participatie en economie", "Participation and economy", "Delaktighet och ekonomi", 20),
    ("tourism-recreation", "Toerisme en recreatie", "Tourism and recreation", "Turism och rekreation", 10),
]

DEPARTMENTS = [
    ("stadsbeheer", "Dienst Stadsbeheer", "stadsbeheer@example.org"),
    ("stedelijke-ontwikkeling", "Dienst Stedelijke Ontwikkeling", "dso@example.org"),
    ("welzijn", "Dienst Onderwijs, Cultuur en Welzijn", "ocw@example.org"),
    ("veiligheid", "Directie Veiligheid", "veiligheid@example.org"),
    ("stadsdeel-scheveningen", "Stadsdeel Scheveningen", "scheveningen@example.org"),
]

SOCIETAL_CHALLENGES = [
    (
        "demo-sc-boulevard",
        "Drukte en overlast rond boulevard en haven in het hoogseizoen",
        "Op warme dagen komen grote aantallen bezoekers naar de boulevard, het strand en de haven van "
        "Scheveningen. Woonstraten raken verstopt met zoekverkeer, afval stapelt zich op en 's avonds is er "
        "geluidsoverlast. Bewoners, ondernemers en bezoekers moeten de ruimte delen.",
        ["tourism-recreation", "mobility", "safety-liveability"],
    ),
    (
        "demo-sc-zwerfafval",
        "Zwerfafval en volle containers in de wijk",
        "Overvolle ondergrondse containers, bijplaatsingen en zwerfafval maken straten en pleinen vies en "
        "trekken meeuwen en ratten aan. Bewoners ergeren zich, en de reinigingsdienst loopt achter de feiten aan.",
        ["safety-liveability", "sustainability-environment"],
    ),
    (
        "demo-sc-verkeersveiligheid-school",
        "Verkeersveiligheid rond scholen",
        "Bij het halen en brengen ontstaan rond basisscholen gevaarlijke situaties: dubbel parkeren, "
        "keren op het trottoir en hard rijden. Kinderen fietsen en lopen daardoor minder zelfstandig naar school.",
        ["mobility", "safety-liveability"],
    ),
    (
        "demo-sc-hitte",
        "Hitte en te weinig groen in versteende buurten",
        "In dichtbebouwde buurten koelt het 's nachts nauwelijks af. Ouderen en kleine kinderen hebben daar het "
        "meest last van. Meer bomen, groene gevels en koele plekken maken de stad leefbaar in warme zomers.",
        ["sustainability-environment", "safety-liveability"],
    ),
    (
        "demo-sc-eenzaamheid",
        "Eenzaamheid onder ouderen",
        "Veel ouderen wonen alleen en hebben weinig contact met buren of familie. Ontmoetingsplekken verdwijnen, "
        "en het bestaande aanbod bereikt juist de meest geïsoleerde mensen niet.",
        ["participation-economy"],
    ),
    (
        "demo-sc-wateroverlast",
        "Wateroverlast bij zware buien",
        "Bij hevige regen loopt het riool over, staan straten en kelders blank en blijft het water uren staan. "
        "Door klimaatverandering komen zulke buien vaker voor.",
        ["sustainability-environment"],
    ),
]

DEPARTMENT_CHALLENGES = [
    ("demo-dc-01", "stadsbeheer", "Piekbelasting afvalinzameling op zomerse dagen",
     "Op stranddagen zijn de afvalbakken langs de boulevard binnen enkele uren vol. Extra ledigingsrondes zijn "
     "duur en de wagens komen slecht door het drukke verkeer.", ["tourism-recreation", "sustainability-environment"],
     ["demo-sc-boulevard", "demo-sc-zwerfafval"]),
    ("demo-dc-02", "veiligheid", "Handhavingscapaciteit bij evenementen en strandweer",
     "Bij mooi weer en evenementen zijn er te weinig handhavers om parkeeroverlast, geluidsoverlast en "
     "wildplassen in de woonwijken achter de boulevard aan te pakken.", ["safety-liveability"], ["demo-sc-boulevard"]),
    ("demo-dc-03", "stadsdeel-scheveningen", "Zoekverkeer in woonstraten Duinoord en Belgisch Park",
     "Bezoekers die gratis willen parkeren rijden rondjes door de woonstraten. Bewoners kunnen hun auto niet kwijt "
     "en nooddiensten komen soms moeilijk door.", ["mobility"], ["demo-sc-boulevard"]),
    ("demo-dc-04", "stadsbeheer", "Bijplaatsingen naast ondergrondse containers",
     "Vuilniszakken en grofvuil worden naast de containers gezet, vooral als een container vol of kapot is. "
     "Meldingen komen pas binnen als het afval al dagen staat.", ["safety-liveability"], ["demo-sc-zwerfafval"]),
    ("demo-dc-05", "stedelijke-ontwikkeling", "Schoolzones herinrichten met beperkt budget",
     "Veel schoolomgevingen voldoen niet aan de richtlijnen voor een veilige schoolzone. Het budget voor "
     "herinrichting is beperkt, dus we moeten kiezen waar het meeste effect te halen valt.", ["mobility"],
     ["demo-sc-verkeersveiligheid-school"]),
    ("demo-dc-06", "veiligheid", "Foutparkeren bij haal- en brengmomenten",
     "Handhavers kunnen niet bij elke school aanwezig zijn. Zodra zij weg zijn, wordt er weer op het fietspad en "
     "de stoep geparkeerd.", ["mobility", "safety-liveability"], ["demo-sc-verkeersveiligheid-school"]),
    ("demo-dc-07", "stedelijke-ontwikkeling", "Te weinig ruimte voor bomen in de ondergrond",
     "Kabels, leidingen en kelders laten in oude wijken weinig ruimte voor nieuwe bomen. Zonder groeiplaats "
     "blijft vergroening beperkt tot geveltuintjes.", ["sustainability-environment"], ["demo-sc-hitte"]),
    ("demo-dc-08", "welzijn", "Koele plekken voor kwetsbare ouderen tijdens hittegolven",
     "Tijdens hittegolven weten we niet goed welke alleenwonende ouderen risico lopen en waar zij terecht kunnen "
     "voor verkoeling.", ["participation-economy"], ["demo-sc-hitte", "demo-sc-eenzaamheid"]),
    ("demo-dc-09", "welzijn", "Buurthuisactiviteiten bereiken geïsoleerde ouderen niet",
     "De activiteiten in buurthuizen worden vooral bezocht door mensen die al een netwerk hebben. Alleenstaande "
     "ouderen komen niet.", ["participation-economy"], ["demo-sc-eenzaamheid"]),
    ("demo-dc-10", "stadsbeheer", "Riolering kan piekbuien niet verwerken",
     "Het gemengde riool in de oudere wijken is niet berekend op buien van meer dan 40 mm per uur. Verzwaren is "
     "kostbaar en duurt jaren.", ["sustainability-environment"], ["demo-sc-wateroverlast"]),
    ("demo-dc-11", "stadsdeel-scheveningen", "Ondernemers en bewoners botsen over terrassen en geluid",
     "Rond de haven en het Kurhaus groeit het aantal horecazaken. Bewoners klagen over geluid en afval, "
     "ondernemers willen langer open.", ["tourism-recreation", "safety-liveability"], ["demo-sc-boulevard"]),
    ("demo-dc-12", "stedelijke-ontwikkeling", "Verharde binnentuinen en pleinen",
     "Steeds meer tuinen en pleinen zijn betegeld. Regenwater kan niet in de bodem zakken en de straat warmt op.",
     ["sustainability-environment"], []),
]

STAFF = [
    # email, display name, roles, departments
    ("admin@example.org", "Beheerder", {"is_superuser": True, "is_staff": True}, []),
    ("innovatie@example.org", "Innovatieteam", {"is_innovation_team": True}, []),
    ("triage@example.org", "Triagist Stadsbeheer", {"is_triager": True}, ["stadsbeheer"]),
    ("stadsbeheer@example.org", "Medewerker Stadsbeheer", {}, ["stadsbeheer"]),
    ("veiligheid@example.org", "Medewerker Veiligheid", {}, ["veiligheid"]),
    ("scheveningen@example.org", "Medewerker Stadsdeel Scheveningen", {}, ["stadsdeel-scheveningen"]),
    ("bewoner@example.org", "Bewoner", {}, []),
]


class Command(BaseCommand):
    help = "Load demo themes, departments, challenges and users for Den Haag / Scheveningen. Idempotent."

    def handle(self, *args, **options) -> None:
        steps = len(THEMES) + len(DEPARTMENTS) + len(SOCIETAL_CHALLENGES) + len(DEPARTMENT_CHALLENGES) + len(STAFF)
        passwords: list[tuple[str, str]] = []
        with transaction.atomic(), tqdm(total=steps, desc="demo data", unit="row", disable=options["verbosity"] == 0) as bar:
            themes = {}
            for slug, nl, en, sv, target_days in THEMES:
                themes[slug], _ = Theme.objects.update_or_create(
                    slug=slug,
                    defaults={"name": nl, "name_nl": nl, "name_en": en, "name_sv": sv, "target_days": target_days},
                )
                bar.update()
            departments = {}
            for slug, name, email in DEPARTMENTS:
                departments[slug], _ = Department.objects.update_or_create(slug=slug, defaults={"name": name, "email": email})
                bar.update()
            societal = {}
            for reference, title, description, theme_slugs in SOCIETAL_CHALLENGES:
                societal[reference], _ = SocietalChallenge.objects.update_or_create(
                    reference=reference, defaults={"title": title, "description": description}
                )
                societal[reference].themes.set([themes[slug] for slug in theme_slugs])
                bar.update()
            for reference, department, title, description, theme_slugs, links in DEPARTMENT_CHALLENGES:
                challenge, _ = DepartmentChallenge.objects.update_or_create(
                    reference=reference,
                    defaults={"title": title, "description": description, "department": departments[department]},
                )
                challenge.themes.set([themes[slug] for slug in theme_slugs])
                challenge.societal_challenges.set([societal[ref] for ref in links])
                bar.update()
            for email, name, roles, department_slugs in STAFF:
                user = User.objects.filter(email=email).first()
                if user is None:
                    password = secrets.token_urlsafe(12)
                    user = User.objects.create_user(email=email, password=password, display_name=name, **roles)
                    passwords.append((email, password))
                    # allauth asks for a verified address before login; demo accounts are verified.
                    user.emailaddress_set.create(email=email, verified=True, primary=True)
                for slug in department_slugs:
                    Membership.objects.get_or_create(user=user, department=departments[slug])
                bar.update()
        # Reports (with neighbourhoods) and pilots build on the rows above; each command is idempotent too.
        call_command("load_demo_categories", verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
        call_command("load_demo_reports", verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
        call_command("load_demo_categories", label_reports=True, verbosity=options["verbosity"], stdout=self.stdout)
        call_command("load_demo_pilots", verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
        call_command("load_demo_calls", verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
        # The matching, by command name (the hub imports no app above it): sentence vectors with a progress bar
        # of their own, then a full run (at once without a broker; otherwise the worker takes it).
        call_command("encode_texts", if_enabled=True, verbosity=options["verbosity"], stdout=self.stdout,
                     stderr=self.stderr)
        call_command("run_matching", verbosity=options["verbosity"], stdout=self.stdout, stderr=self.stderr)
        if passwords:
            self.stdout.write(self.style.WARNING("Demo accounts created. These passwords are shown only once:"))
            for email, password in passwords:
                self.stdout.write(f"  {email:32} {password}")
        else:
            self.stdout.write("Demo data is up to date; the demo accounts already existed (passwords unchanged).")
