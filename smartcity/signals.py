"""The hub's own hooks: apps above it subscribe in their apps.py (docs/architecture.md), so the hub
announces a change without knowing who listens. Model saves need no hook of their own (post_save)."""
from django.dispatch import Signal

# Sent by the innovation team's curation pages and the API after a societal challenge was created or
# changed, inside the transaction that saved it. Arguments: challenge, by (the user).
societal_challenge_curated = Signal()
