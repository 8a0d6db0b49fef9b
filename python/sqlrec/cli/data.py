"""`sqlrec generate` (a synthetic lake) and `sqlrec movielens` (MovieLens-100k as a lake)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlrec.cli import options
from sqlrec.data import movielens
from sqlrec.data.generate import lake as generator


def add_generate(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a synthetic marketplace event lake (Parquet) for demos and benchmarks",
        description=(
            "Write a synthetic resale-marketplace lake: date-partitioned events "
            "(<out>/events/event_date=YYYY-MM-DD/part-00000.parquet) and an item catalogue "
            "(<out>/catalog/items.parquet), the history ending today (UTC) unless --end-date "
            "says otherwise. The same arguments, --end-date included, give identical files."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=generator.DEFAULT_USERS,
                        help="number of users")
    parser.add_argument("--items", type=int, default=generator.DEFAULT_ITEMS,
                        help="catalogue size")
    parser.add_argument("--events", type=int, default=generator.DEFAULT_EVENTS,
                        help="number of valid events")
    parser.add_argument("--days", type=int, default=generator.DEFAULT_DAYS,
                        help="days of history, ending at --end-date")
    parser.add_argument("--seed", type=int, default=generator.DEFAULT_SEED, help="random seed")
    parser.add_argument("--out", default=generator.DEFAULT_OUT, help="lake directory to write")
    parser.add_argument("--bad-rows", type=int, default=0,
                        help="malformed rows to add (nulls, unknown types, future times, "
                             "duplicates), on top of --events")
    parser.add_argument("--end-date", default=None,
                        help="last day of history (YYYY-MM-DD; default: today, UTC)")
    parser.add_argument("--int-ids", action="store_true",
                        help="write user_id and item_id as int64 instead of strings")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace events/ and catalog/ if --out already has them")
    options.add(parser, options.QUIET.with_help("no progress bar"))
    parser.set_defaults(func=generate_command)


def generate_command(args: argparse.Namespace) -> int:
    summary = generator.generate_lake(
        args.out,
        users=args.users,
        items=args.items,
        events=args.events,
        days=args.days,
        seed=args.seed,
        bad_rows=args.bad_rows,
        end_date=args.end_date,
        int_ids=args.int_ids,
        overwrite=args.overwrite,
        show_progress=not args.quiet and sys.stderr.isatty(),
    )
    bad = f" + {summary['bad_rows']:,} bad rows" if summary["bad_rows"] else ""
    print(
        f"wrote {summary['events']:,} events{bad} to {summary['out']}: "
        f"{summary['partitions']} partitions ({summary['first_date']} .. {summary['last_date']}), "
        f"{summary['files']} files, {summary['seconds']:.1f} s"
    )
    print(
        f"  {summary['users_with_events']:,} of {summary['users']:,} users and "
        f"{summary['items_with_events']:,} of {summary['items']:,} items have events; "
        f"{summary['items_sold_out']:,} items sold out"
    )
    return 0


def add_movielens(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "movielens",
        help="write MovieLens-100k (from the recbole wheel) as a lake: ratings >= 4 are views",
        description="Write MovieLens-100k as a Parquet lake in the input contract's layout. "
        f"Needs the recbole wheel (`{movielens.INSTALL_HINT}`); every rating >= "
        f"{movielens.MIN_RATING} becomes one view event at the rating's time.",
    )
    parser.add_argument("--out", type=Path, default=Path("data/ml-100k"),
                        help="the lake to write (default %(default)s); replaced if it exists")
    parser.set_defaults(func=movielens_command)


def movielens_command(args: argparse.Namespace) -> int:
    from sqlrec.data.lake import write_lake

    events = movielens.load_events()
    write_lake(events, args.out)
    print(f"sqlrec movielens: wrote {len(events):,} events of {events['user_id'].nunique():,} "
          f"users on {events['item_id'].nunique():,} movies to {args.out}; next: "
          f"`sqlrec build --lake {args.out}`")
    return 0
