"""What a build did, in the lines `sqlrec build`, `sqlrec refresh` and `sqlrec demo` print
(under --quiet too, which hides dbt's own output and with it the warning about rejected rows):
the lake's events, valid and rejected by reason, and the rows of the marts the build wrote."""

from __future__ import annotations

from collections.abc import Iterable

from sqlrec import warehouse

# the tables the service and analysts read, in the order the lines name them
MARTS = ("item_similarity", "popular_items", "user_recent_items", "user_recommendations")
EVENT_COUNTS = "int_event_counts"  # one row per outcome: 'valid' or a reject reason


def build_lines(store: warehouse.Warehouse, models: Iterable[str]) -> list[str]:
    """The summary of a build that built ``models``: its events line when it counted the
    events, its rows line when it wrote a mart (a selection may do neither)."""
    models = set(models)
    lines = []
    if EVENT_COUNTS in models:
        counts = store.read_table(EVENT_COUNTS, ["outcome", "events"]).to_pylist()
        lines.append(events_line({row["outcome"]: int(row["events"]) for row in counts}))
    if written := [name for name in MARTS if name in models]:
        rows = store.query(" union all ".join(
            f"select '{name}' as name, count(*) as row_count from {store.qualified(name)}"
            for name in written))
        counted = {row["name"]: int(row["row_count"]) for row in rows.to_pylist()}
        lines.append("rows written: " + ", ".join(f"{name} {counted[name]:,}"
                                                  for name in written))
    return lines


def events_line(outcomes: dict[str, int]) -> str:
    """"events: 5 valid, 2 rejected (missing_user_id 1, unknown_event_type 1; ...)" from the
    events per outcome, the reasons by count, then name."""
    rejected = {reason: count for reason, count in outcomes.items()
                if reason != "valid" and count > 0}
    valid = f"events: {outcomes.get('valid', 0):,} valid"
    if not rejected:
        return f"{valid}, none rejected"
    reasons = ", ".join(f"{reason} {count:,}" for reason, count
                        in sorted(rejected.items(), key=lambda item: (-item[1], item[0])))
    return (f"{valid}, {sum(rejected.values()):,} rejected ({reasons}; the rows are in "
            "events_rejected)")
