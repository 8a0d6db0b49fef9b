"""sqlrec: a SQL-first recommender for a resale marketplace."""

__version__ = "0.1.0"
