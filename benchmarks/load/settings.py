"""The production settings (smartcity/settings.py, read from the environment as in production), plus
the bare baseline view for the load benchmark. Used only by benchmarks/load/run.py: the baseline is
not part of the production URLs."""
from smartcity.settings import *  # noqa: F401,F403

ROOT_URLCONF = "benchmarks.load.baseline_urls"
