"""Writes N deterministic random profiles (SPEC §3 JSON lines) for the
schema of examples/rules/classic.toml, with about EVENTS events each, for
the SQL benchmark (scripts/sql-bench.sh).

Usage: python gen_profiles.py N EVENTS_PER_PROFILE OUT.jsonl
"""
import json
import random
import sys
from datetime import datetime, timedelta, timezone

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
SEGMENTS = ["active", "dormant", "vip", "trial"]
PLANS = ["basic", "pro", "enterprise"]
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
COUNTRIES = ["DE", "US", "JP", "GB", "AU", "FR"]
PATHS = ["/pricing", "/docs", "/home", "/blog", "/signup"]


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    count, per_profile, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(15)
    with open(out, "w", encoding="utf-8") as f:
        for i in range(count):
            login_60 = rng.randrange(0, 60)
            traits = {
                "login_count_30d": rng.randrange(0, login_60 + 1),
                "login_count_60d": login_60,
                "user_segment": rng.choice(SEGMENTS),
                "plan": rng.choice(PLANS),
                "lifetime_value": round(rng.uniform(0, 2000), 2),
                "last_login": stamp(NOW - timedelta(minutes=rng.randrange(0, 200 * 24 * 60))),
                "email_opt_in": rng.random() < 0.8,
                "push_opt_in": rng.random() < 0.5,
                "unsubscribed": rng.random() < 0.05,
                "timezone": rng.choice(ZONES),
                "country": rng.choice(COUNTRIES),
            }
            if rng.random() < 0.1:
                del traits["lifetime_value"]
            events = []
            for _ in range(rng.randrange(0, 2 * per_profile + 1)):
                at = stamp(NOW - timedelta(minutes=rng.randrange(-600, 90 * 24 * 60)))
                kind = rng.random()
                if kind < 0.4:
                    events.append({"event": "page_view", "timestamp": at,
                                   "properties": {"path": rng.choice(PATHS)}})
                elif kind < 0.7:
                    events.append({"event": "login", "timestamp": at})
                elif kind < 0.85:
                    events.append({"event": "purchase", "timestamp": at, "properties": {
                        "amount": round(rng.uniform(5, 300), 2),
                        "product_id": f"p-{rng.randrange(50)}"}})
                elif kind < 0.95:
                    events.append({"event": "support_ticket", "timestamp": at, "properties": {
                        "product_id": f"p-{rng.randrange(50)}", "severity": rng.randrange(1, 4)}})
                else:
                    events.append({"event": "order_fulfilled", "timestamp": at,
                                   "properties": {"order_id": f"o-{rng.randrange(10**6)}"}})
            f.write(json.dumps({"id": f"c-{i}", "traits": traits, "events": events},
                               separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
