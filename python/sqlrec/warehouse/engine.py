"""An SQLAlchemy engine on a dbt target, for analysts in Python:
``pandas.read_sql(sqlalchemy.text("select * from item_similarity where item_id = :i"), engine,
params={"i": ...})`` works the same on DuckDB (duckdb-engine) and Trino (trino.sqlalchemy). The
bulk reads of the Python steps keep their Arrow paths (`Warehouse.read_table`), which are faster."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlrec import project
from sqlrec.warehouse import profile

if TYPE_CHECKING:
    import sqlalchemy


def sqlalchemy_engine(target: str | None = None) -> sqlalchemy.Engine:
    """An engine on a target of the project's dbt profile (default: the active one), connecting
    as dbt does: DuckDB's file read-only, Trino with the profile's host, TLS verification,
    credentials and schema. No connection is pooled: a DuckDB reader holds a lock that dbt's
    build must not find taken between two queries."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    target = target or project.active_target()
    fields = profile.target_fields(target)
    if profile.engine_of(target, fields) == "duckdb":
        path, schema = profile.duckdb_file(target, fields)
        engine = sqlalchemy.create_engine(f"duckdb:///{path}", poolclass=NullPool,
                                          connect_args={"read_only": True})

        @sqlalchemy.event.listens_for(engine, "connect")
        def use_schema(connection, _record) -> None:  # dbt's schema, as Trino's URL has it
            connection.execute(f"set schema = '{schema.replace(chr(39), chr(39) * 2)}'")

        return engine
    # the very DB-API connection the Python steps open, so TLS and authentication match dbt's
    connect = profile.connection_factory(profile.trino_credentials(target))
    return sqlalchemy.create_engine("trino://", creator=connect, poolclass=NullPool)
