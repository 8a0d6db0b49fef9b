"""`sqlrec demo`: the whole job on demo data. Generate a lake if none is given, refresh (build,
train ALS, build the blend), and sample what "viewed together" and "for you" say."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlrec import warehouse
from sqlrec.data.lake import has_event_files
from sqlrec.pipeline.build import refresh

if TYPE_CHECKING:
    import pandas as pd

    from sqlrec.recommend.train import TrainResult

DEMO_SIZE = {"users": 20_000, "items": 5_000, "events": 1_000_000, "days": 30, "seed": 42}


def demo(lake_dir: Path, *, events: int = DEMO_SIZE["events"], quiet: bool = False,
         echo: Callable[[str], None] | None = None) -> list[TrainResult]:
    """Generate a demo lake of ``events`` events unless ``lake_dir`` has events, then refresh
    it with the saved (or default) parameters. ``echo`` receives a line per step done."""
    from sqlrec.data.generate import generate_lake
    from sqlrec.recommend.params import load_params, provenance

    echo = echo or (lambda line: None)
    lake_dir = Path(lake_dir)
    if not has_event_files(lake_dir):
        size = {**DEMO_SIZE, "events": events}
        echo(f"sqlrec demo: no lake at {lake_dir}; generating {json.dumps(size)}")
        generate_lake(lake_dir, **size, show_progress=not quiet)
    params, source = load_params()
    started = time.perf_counter()
    # a demo shows the whole job every time, even of a lake it refreshed before
    result = refresh(lake_dir, params, quiet=quiet, echo=echo,
                     details=provenance(source), force=True).results
    echo(f"sqlrec demo: build, train and blend finished in {time.perf_counter() - started:.1f} s")
    return result


def samples(items: int = 3, users: int = 3, rows: int = 5) -> list[tuple[str, pd.DataFrame]]:
    """Titled samples of the built tables: 'viewed together' for the most popular items, 'for
    you' for the most active users, and where the recommendations come from."""
    store = warehouse.connect()
    table = store.qualified
    viewed_together = store.query(f"""
        with top_items as (
            select item_id from {table('popular_items')} where scope = 'global' and rank <= {items}
        )
        select similarity.item_id, item.category, item.brand,
               similarity.similar_item_id, neighbour.category as similar_category,
               neighbour.brand as similar_brand, round(similarity.score, 4) as score,
               similarity.rank, similarity.common_users
        from {table('item_similarity')} as similarity
        inner join top_items on similarity.item_id = top_items.item_id
        left join {table('int_items_enriched')} as item on similarity.item_id = item.item_id
        left join {table('int_items_enriched')} as neighbour
            on similarity.similar_item_id = neighbour.item_id
        where similarity.rank <= {rows}
        order by similarity.item_id, similarity.rank
    """)
    for_you = store.query(f"""
        with active_users as (
            select user_id from {table('int_user_item_scores')}
            group by user_id order by count(*) desc, user_id limit {users}
        )
        select recommendation.user_id, recommendation.rank, recommendation.item_id,
               item.category, item.brand, round(recommendation.score, 4) as score,
               recommendation.source, recommendation.because_item_id
        from {table('user_recommendations')} as recommendation
        inner join active_users on recommendation.user_id = active_users.user_id
        left join {table('int_items_enriched')} as item on recommendation.item_id = item.item_id
        where recommendation.rank <= {rows}
        order by recommendation.user_id, recommendation.rank
    """)
    sources = store.query(f"""
        select source, count(distinct user_id) as users, count(*) as rows
        from {table('user_recommendations')} group by source order by source
    """)
    return [
        ("Viewed together: the most similar items of the most popular items",
         viewed_together.to_pandas()),
        ("For you: the first recommendations of the most active users", for_you.to_pandas()),
        ("Sources of the recommendations", sources.to_pandas()),
    ]


def next_steps(lake_dir: Path) -> str:
    """What to do after the demo: where the results are and commands that look at them (each
    indented command line runs as printed once the first line is done; a test runs them)."""
    from sqlrec import project
    from sqlrec.warehouse import profile

    database, _ = profile.duckdb_file(project.active_target())
    events = f"{Path(lake_dir).resolve()}/events/*/*.parquet"
    query = ("import duckdb; print(duckdb.connect('" + str(database) + "', read_only=True)"
             ".sql('from user_recommendations order by user_id, rank limit 10'))")
    return f"""Next steps (from {project.project_dir()})
  Put sqlrec and dbt on your PATH:
    source .venv/bin/activate
  The tables are in the DuckDB file {database}; query them from Python or dbt:
    python -c "{query}"
    export DBT_PROFILES_DIR={project.profiles_dir()}
    dbt show --inline "select * from {{{{ ref('item_similarity') }}}}" --limit 5
    dbt show --select related_items --vars '{{item_id: "i_42"}}'
  Plain dbt on the same lake:
    dbt build --vars '{{events_path: "{events}"}}'
  Serve them over HTTP, then open http://127.0.0.1:8000/docs:
    sqlrec serve
  Measure, tune and serve the tuned lists:
    sqlrec evaluate && sqlrec tune && sqlrec refresh
"""
