"""`sqlrec build` runs the dbt project on a lake; `sqlrec demo` is the whole job on demo data:
generate a lake if none is given, build, train ALS, build the blend, and print what "viewed
together" and "for you" say."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sqlrec import project
from sqlrec.build_marker import write_build_marker
from sqlrec.dbt_runner import run_dbt
from sqlrec.errors import UserError

DEMO_SIZE = {"users": 20_000, "items": 5_000, "events": 1_000_000, "days": 30, "seed": 42}


def add_command(subparsers: argparse._SubParsersAction) -> None:
    build = subparsers.add_parser(
        "build",
        help="run `dbt build` (models and tests) on a lake",
        description="Run `dbt build` on the lake: staging, intermediate models, marts and tests.",
    )
    _add_lake_argument(build)
    build.add_argument("--full-refresh", action="store_true", help="rebuild incremental models")
    build.add_argument("--vars", default="{}", help="more dbt vars, as JSON or YAML text")
    build.add_argument("--select", help="dbt node selection, e.g. +item_similarity")
    build.set_defaults(func=_build_command)

    demo = subparsers.add_parser(
        "demo",
        help="the main job on demo data: generate (if needed), build, train, show results",
        description="Generate a demo lake unless one exists, run the dbt project on DuckDB, "
        "train ALS, build the blend and print a sample of 'viewed together' and 'for you'.",
    )
    _add_lake_argument(demo)
    demo.add_argument("--events", type=int, default=DEMO_SIZE["events"],
                      help="events to generate when the lake is empty (default %(default)s)")
    demo.set_defaults(func=_demo_command)


def _add_lake_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake", type=Path, default=None,
        help="the Parquet lake (default: env SQLREC_LAKE or data/lake in the project)",
    )


def build(lake_dir: Path, *, full_refresh: bool = False, extra_vars: dict | None = None,
          select: str | None = None, quiet: bool = False) -> None:
    """Run `dbt build` on a lake; raise UserError naming the path when it holds no events."""
    lake_dir = Path(lake_dir)
    if not any((lake_dir / "events").glob("*/*.parquet")):
        raise UserError(
            f"no event files under {lake_dir / 'events'} (expected "
            f"{lake_dir / 'events' / 'event_date=YYYY-MM-DD' / '*.parquet'}); "
            f"generate demo data with `sqlrec generate --out {lake_dir}`"
        )
    command = ["build"]
    if full_refresh:
        command.append("--full-refresh")
    if select:
        command += ["--select", select]
    run_dbt(command, dbt_vars={**project.lake_vars(lake_dir), **(extra_vars or {})}, quiet=quiet)
    # only after every table is in place: the HTTP service reloads when this marker changes
    write_build_marker("build")


def _build_command(args: argparse.Namespace) -> int:
    import yaml

    extra_vars = yaml.safe_load(args.vars) or {}
    if not isinstance(extra_vars, dict):
        raise UserError(f"--vars must be a mapping, got {args.vars!r}")
    build(args.lake or project.default_lake_dir(), full_refresh=args.full_refresh,
          extra_vars=extra_vars, select=args.select)
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    from sqlrec.generate import generate_lake

    lake_dir = args.lake or project.default_lake_dir()
    if not any((lake_dir / "events").glob("*/*.parquet")):
        size = {**DEMO_SIZE, "events": args.events}
        print(f"sqlrec demo: no lake at {lake_dir}; generating {json.dumps(size)}")
        generate_lake(lake_dir, **size, show_progress=True)
    started = time.perf_counter()
    # the whole job, as `sqlrec refresh` runs it: dbt build, sqlrec train (ALS), dbt build
    from sqlrec.cli import build_parser

    refresh = build_parser().parse_args(["refresh", "--lake", str(lake_dir)])
    refresh.func(refresh)
    print(f"sqlrec demo: build, train and blend finished in {time.perf_counter() - started:.1f} s")
    print_sample()
    return 0


def print_sample(items: int = 3, users: int = 3, rows: int = 5) -> None:
    """Print 'viewed together' for the most popular items and 'for you' for a few users."""
    from sqlrec import warehouse

    store = warehouse.connect()
    print("\n== Viewed together: the most similar items of the most popular items ==")
    print(store.query(f"""
        with top_items as (
            select item_id from popular_items where scope = 'global' and rank <= {items}
        )
        select similarity.item_id, item.category, item.brand,
               similarity.similar_item_id, neighbour.category as similar_category,
               neighbour.brand as similar_brand, round(similarity.score, 4) as score,
               similarity.rank, similarity.common_users
        from item_similarity as similarity
        inner join top_items on similarity.item_id = top_items.item_id
        left join int_items_enriched as item on similarity.item_id = item.item_id
        left join int_items_enriched as neighbour
            on similarity.similar_item_id = neighbour.item_id
        where similarity.rank <= {rows}
        order by similarity.item_id, similarity.rank
    """).to_pandas().to_string(index=False))
    print("\n== For you: the first recommendations of the most active users ==")
    print(store.query(f"""
        with active_users as (
            select user_id from int_user_item_scores
            group by user_id order by count(*) desc, user_id limit {users}
        )
        select recommendation.user_id, recommendation.rank, recommendation.item_id,
               item.category, item.brand, round(recommendation.score, 4) as score,
               recommendation.source
        from user_recommendations as recommendation
        inner join active_users on recommendation.user_id = active_users.user_id
        left join int_items_enriched as item on recommendation.item_id = item.item_id
        where recommendation.rank <= {rows}
        order by recommendation.user_id, recommendation.rank
    """).to_pandas().to_string(index=False))
    print("\n== Sources of the recommendations ==")
    print(store.query("""
        select source, count(distinct user_id) as users, count(*) as rows
        from user_recommendations group by source order by source
    """).to_pandas().to_string(index=False))
