"""The demo's category tree and addresses: what residents report, and where.

The tree is modelled on the public main categories Dutch cities use (Signalen, the cities' own forms):
waste, public green and water, roads and street furniture, street lighting, nuisance from businesses,
nuisance in public space, animals, cleaning, sewers and flooding. Each category routes to a demo department
(load_demo makes them) and belongs to a theme; the boulevard's lamp posts are "handled elsewhere"; a broken
lamp asks the number on its post (a category's question).
The addresses (participation/demo/addresses.csv) are approximate demo data. Safe to run again.
"""
from __future__ import annotations

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from participation.models import Category, Report, ServiceQuestion
from smartcity.models import Department, Theme

ADDRESSES = Path(__file__).resolve().parents[2] / "demo" / "addresses.csv"

# slug, (nl, en, sv), theme slug, department slug, target days, [subcategories: slug, (nl, en, sv), extra]
# extra: {"department": ..., "notice": (nl, en, sv), "notice_url": ...,
#         "questions": [(code, question (nl, en, sv), answer hint (nl, en, sv))]}  (optional short-text questions)
TREE: list[tuple] = [
    ("afval", ("Afval", "Waste", "Avfall"), "sustainability-environment", "stadsbeheer", 5, [
        ("afval-container-vol", ("Container is vol", "Container is full", "Containern är full"), {}),
        ("afval-container-kapot", ("Container is kapot", "Container is broken", "Containern är trasig"), {}),
        ("afval-bijplaatsing", ("Afval naast container", "Rubbish next to a container", "Skräp bredvid containern"), {}),
        ("afval-grofvuil", ("Grofvuil op straat", "Bulky waste in the street", "Grovsopor på gatan"), {}),
        ("afval-huisvuil", ("Huisvuil niet opgehaald", "Household waste not collected", "Hushållsavfall inte hämtat"), {}),
    ]),
    ("groen-water", ("Openbaar groen en water", "Public green and water", "Grönområden och vatten"),
     "sustainability-environment", "stadsbeheer", 15, [
        ("groen-boom", ("Boom (omgevallen, snoeien, ziek)", "Tree (fallen, pruning, diseased)", "Träd (omfallet, beskärning, sjukt)"), {}),
        ("groen-onderhoud", ("Gras, heg en onkruid", "Grass, hedges and weeds", "Gräs, häckar och ogräs"), {}),
        ("groen-speelplaats", ("Speelplaats of speeltoestel kapot", "Playground or play equipment broken", "Lekplats eller lekredskap trasigt"), {}),
        ("groen-vervuild-water", ("Vervuild water of drijfvuil", "Polluted water or floating litter", "Förorenat vatten eller skräp i vattnet"), {}),
    ]),
    ("wegen", ("Wegen, verkeer en straatmeubilair", "Roads, traffic and street furniture", "Vägar, trafik och gatumöbler"),
     "mobility", "stadsbeheer", 10, [
        ("wegen-bestrating", ("Losse of kapotte bestrating", "Loose or broken paving", "Lösa eller trasiga gatstenar"), {}),
        ("wegen-gat", ("Gat in de weg of het fietspad", "Pothole in the road or cycle path", "Hål i vägen eller cykelbanan"), {}),
        ("wegen-verkeerslicht", ("Verkeerslicht kapot", "Traffic light broken", "Trafikljus trasigt"), {}),
        ("wegen-bord", ("Verkeersbord kapot of weg", "Road sign broken or missing", "Vägskylt trasig eller borta"), {}),
        ("wegen-meubilair", ("Bankje, paal of prullenbak kapot", "Bench, bollard or bin broken", "Bänk, pollare eller papperskorg trasig"), {}),
        ("wegen-verkeersveiligheid", ("Onveilige verkeerssituatie", "Unsafe traffic situation", "Osäker trafiksituation"),
         {"department": "stedelijke-ontwikkeling"}),
    ]),
    ("verlichting", ("Straatverlichting", "Street lighting", "Gatubelysning"), "safety-liveability", "stadsbeheer", 5, [
        ("verlichting-lamp", ("Lamp kapot of brandt overdag", "Lamp out or on during the day", "Lampan trasig eller tänd på dagen"), {
            "questions": [("paalnummer", ("Welk nummer staat op de lantaarnpaal?", "What number is on the lamp post?",
                                          "Vilket nummer står på lyktstolpen?"),
                           ("Op een plaatje op de paal, bijvoorbeeld 123-45. Niet te zien? Laat het leeg.",
                            "On a plate on the post, for example 123-45. Can't see one? Leave it empty.",
                            "På en skylt på stolpen, till exempel 123-45. Syns det inte? Lämna tomt."))],
        }),
        ("verlichting-donker", ("Te donkere plek", "Too dark a place", "För mörk plats"), {}),
        ("verlichting-boulevard", ("Verlichting boulevard en pier", "Lighting on the boulevard and the pier", "Belysning på strandpromenaden och piren"), {
            "department": None,
            "notice": ("De lantaarnpalen langs de boulevard en op de pier zijn van de netbeheerder. Meld een kapotte lamp daar direct: dan wordt hij het snelst gerepareerd.",
                       "The lamp posts along the boulevard and on the pier belong to the grid operator. Report a broken lamp to them directly: that is the fastest way to get it fixed.",
                       "Lyktstolparna längs strandpromenaden och på piren tillhör nätägaren. Anmäl en trasig lampa direkt till dem: då lagas den snabbast."),
            "notice_url": "https://www.stedin.net/storingen-en-onderhoud/storing-melden",
        }),
    ]),
    ("overlast-bedrijven", ("Overlast van bedrijven en horeca", "Nuisance from businesses and bars", "Störningar från företag och krogar"),
     "safety-liveability", "veiligheid", 10, [
        ("overlast-bedrijven-geluid", ("Geluid van horeca of bedrijf", "Noise from a bar or business", "Buller från krog eller företag"), {}),
        ("overlast-bedrijven-stank", ("Stank of rook", "Smell or smoke", "Lukt eller rök"), {}),
        ("overlast-bedrijven-terras", ("Terras of uitstalling", "Terrace or display in the way", "Uteservering eller skyltning i vägen"), {}),
    ]),
    ("overlast-openbare-ruimte", ("Overlast in de openbare ruimte", "Nuisance in public space", "Störningar i det offentliga rummet"),
     "safety-liveability", "veiligheid", 10, [
        ("overlast-lawaai", ("Lawaai of hangjongeren op straat", "Noise or loitering in the street", "Oväsen eller häng på gatan"), {}),
        ("overlast-fietswrak", ("Fietswrak of weesfiets", "Abandoned bicycle", "Övergiven cykel"), {"department": "stadsbeheer"}),
        ("overlast-graffiti", ("Graffiti of wildplakken", "Graffiti or fly-posting", "Klotter eller affischering"), {"department": "stadsbeheer"}),
        ("overlast-parkeren", ("Parkeeroverlast en zoekverkeer", "Parking nuisance and cruising traffic", "Parkeringsstörningar och söktrafik"),
         {"department": "stadsdeel-scheveningen"}),
    ]),
    ("dieren", ("Dieren", "Animals", "Djur"), "safety-liveability", "stadsbeheer", 5, [
        ("dieren-dood", ("Dood dier", "Dead animal", "Dött djur"), {}),
        ("dieren-ongedierte", ("Ratten, muizen of ander ongedierte", "Rats, mice or other pests", "Råttor, möss eller andra skadedjur"), {}),
        ("dieren-meeuwen", ("Overlast van meeuwen", "Nuisance from gulls", "Störningar från måsar"), {}),
    ]),
    ("schoon", ("Schoon", "Cleaning", "Städning"), "sustainability-environment", "stadsbeheer", 7, [
        ("schoon-zwerfafval", ("Zwerfafval", "Litter", "Skräp"), {}),
        ("schoon-vegen", ("Straat vegen of bladafval", "Street sweeping or fallen leaves", "Gatsopning eller löv"), {}),
        ("schoon-hondenpoep", ("Hondenpoep", "Dog mess", "Hundbajs"), {}),
        ("schoon-gladheid", ("Gladheid", "Icy or slippery street", "Halka"), {}),
    ]),
    ("riool", ("Riolering en wateroverlast", "Sewers and flooding", "Avlopp och översvämning"),
     "sustainability-environment", "stadsbeheer", 5, [
        ("riool-put", ("Verstopte put of kolk", "Blocked drain", "Igensatt brunn"), {}),
        ("riool-wateroverlast", ("Water op straat na regen", "Water in the street after rain", "Vatten på gatan efter regn"), {}),
    ]),
]


# The demo reports' categories (load_demo_reports, by reference), as a civil servant would have set them.
DEMO_REPORT_CATEGORIES = {
    "demo-r-01": "afval-container-vol", "demo-r-02": "overlast-parkeren", "demo-r-03": "overlast-lawaai",
    "demo-r-04": "afval-container-vol", "demo-r-05": "wegen-verkeersveiligheid", "demo-r-06": "wegen-verkeersveiligheid",
    "demo-r-08": "riool-wateroverlast", "demo-r-09": "verlichting-lamp",
}


class Command(BaseCommand):
    help = "Load the demo's category tree (nl, en, sv) and its approximate demo addresses."

    def add_arguments(self, parser):
        parser.add_argument("--label-reports", action="store_true",
                            help="only give the demo reports (load_demo_reports) their categories")

    def handle(self, *args, label_reports: bool = False, **options) -> None:
        if label_reports:
            for reference, slug in DEMO_REPORT_CATEGORIES.items():
                Report.objects.filter(reference=reference, category__isnull=True).update(
                    category=Category.objects.filter(slug=slug).first())
            return
        themes = {theme.slug: theme for theme in Theme.objects.all()}
        departments = {department.slug: department for department in Department.objects.all()}
        with transaction.atomic():
            for order, (slug, names, theme, department, target_days, children) in enumerate(TREE):
                main, _ = Category.objects.update_or_create(slug=slug, defaults={
                    "name": names[0], "name_nl": names[0], "name_en": names[1], "name_sv": names[2],
                    "theme": themes.get(theme), "department": departments.get(department), "target_days": target_days,
                    "order": order, "parent": None,
                })
                for sub_order, (sub_slug, sub_names, extra) in enumerate(children):
                    notice = extra.get("notice", ("", "", ""))
                    sub, _ = Category.objects.update_or_create(slug=sub_slug, defaults={
                        "parent": main, "name": sub_names[0], "name_nl": sub_names[0], "name_en": sub_names[1],
                        "name_sv": sub_names[2], "order": sub_order,
                        # None: the main category's; for one handled elsewhere (the boulevard's lamps), triage
                        "department": departments.get(extra["department"]) if extra.get("department") else None,
                        "notice": notice[0], "notice_nl": notice[0], "notice_en": notice[1], "notice_sv": notice[2],
                        "notice_url": extra.get("notice_url", ""),
                    })
                    for question_order, (code, questions, hints) in enumerate(extra.get("questions", [])):
                        ServiceQuestion.objects.update_or_create(category=sub, code=code, defaults={
                            "description": questions[0], "description_nl": questions[0], "description_en": questions[1],
                            "description_sv": questions[2], "datatype_description": hints[0],
                            "datatype_description_nl": hints[0], "datatype_description_en": hints[1],
                            "datatype_description_sv": hints[2], "order": question_order,
                        })
        call_command("load_addresses", str(ADDRESSES), verbosity=options["verbosity"], stdout=self.stdout,
                     stderr=self.stderr)
        self.stdout.write(self.style.SUCCESS(f"{Category.objects.count()} categories loaded."))
