"""The security tests reuse the resident side's helpers: media in a temporary folder, a fresh cache
(rate limits count there), an English test client, a theme."""
from tests.participation.conftest import _fresh_cache, _media_in_a_temporary_folder, client, theme  # noqa: F401
