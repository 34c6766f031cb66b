"""The hub's own hooks: apps above it subscribe in their apps.py (docs/architecture.md), so the hub
announces a change without knowing who listens. Model saves need no hook of their own (post_save)."""
from django.dispatch import Signal

# Sent by the innovation team's curation pages and the API after a societal challenge was created or
# changed, inside the transaction that saved it. Arguments: challenge, by (the user).
societal_challenge_curated = Signal()

# Sent by the pilot portfolio (pilots.services) when residents should hear of something that concerns a
# societal challenge: an open call published on it, a pilot for it that starts or changes stage.
# participation answers it (participation/apps.py): it knows who follows or reported what. Sent after the
# commit. Arguments: challenge_ids (list of ints), event (a key, unique per event: one mail per person),
# message (a function without arguments returning (subject, body) as plain text in the active language: the
# listener calls it once per recipient language), url (absolute), near (None, or a dict with
# bbox [min_lon, min_lat, max_lon, max_lat] and metres: only residents whose report lies within
# `metres` of that box hear of it).
residents_news = Signal()
