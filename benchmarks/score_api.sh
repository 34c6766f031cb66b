#!/usr/bin/env bash
# Score the matching from outside, as the cities' evaluation does: a fresh server on an empty
# database, the dataset loaded through the REST API, a full run, the scorer's figures.
#
#   benchmarks/score_api.sh [DATASET.json] [extra score.py arguments, e.g. --json]
#   (both development sets: ../shared/eval/dev_denhaag.json and ../shared/eval/dev_goteborg.json;
#   the team's own check sets: benchmarks/data/team_utrecht.json, team_malmo.json, team_rotterdam.json,
#   team_uppsala.json and team_edinburgh.json)
#
# Uses SQLite and in-process tasks unless DATABASE_URL / REDIS_URL are set (with REDIS_URL,
# start a worker yourself: .venv/bin/celery -A smartcity worker).
set -euo pipefail
cd "$(dirname "$0")/.."
dataset=${1:-../shared/eval/dev_denhaag.json}
shift || true
port=${SCORE_PORT:-8799}
work=$(mktemp -d)
export DEBUG=1 MEDIA_ROOT="$work/media"
export DATABASE_URL=${DATABASE_URL:-sqlite:///$work/db.sqlite3}
.venv/bin/python manage.py migrate --noinput -v0
token=$(.venv/bin/python manage.py shell -v0 -c "
from rest_framework.authtoken.models import Token
from smartcity.models import User
user = User.objects.create_superuser(email='scorer@example.org', password=None)
print(Token.objects.create(user=user).key)" | tail -1)
.venv/bin/python manage.py runserver "127.0.0.1:$port" --noreload >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
# a busy machine can take a while to start Django: wait up to a minute, then say so
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
curl -fs "http://127.0.0.1:$port/health" >/dev/null || { echo "the server did not start: $work/server.log" >&2; cat "$work/server.log" >&2; exit 1; }
# the team's scorer lives beside the development sets (../shared/eval/); a set kept elsewhere
# (benchmarks/data/team_*.json) is scored by the same one
scorer="$(dirname "$dataset")/score.py"
[ -f "$scorer" ] || scorer=../shared/eval/score.py
.venv/bin/python "$scorer" "$dataset" --base-url "http://127.0.0.1:$port" --token "$token" "$@"
