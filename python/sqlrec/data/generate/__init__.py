"""A synthetic resale-marketplace lake for demos, tests and benchmarks (`sqlrec generate`).

The output follows the project's input contract::

    <out>/events/event_date=YYYY-MM-DD/part-00000.parquet   event_id, user_id, item_id,
                                                             event_type, event_time
    <out>/catalog/items.parquet                              item_id, category, brand,
                                                             is_available, price

How the data is made (everything vectorised with numpy; no per-event Python loop), module by
module: `catalogue`, `sessions` (users, sessions, events), `bad_rows`, `writer`; `codes` names
the integer codes their arrays hold, and `lake` ties them together (`generate_lake`):

- Catalogue: three categories (sneakers, tech, life), each with a handful of brands; within a
  brand, items are grouped into "models" (colourways, sizes, conditions of one product) of about
  eight items. Prices are lognormal per category, scaled per brand, shared within a model.
  Item popularity is Zipf-like (weight ``rank ** -0.8`` over a random ranking of the catalogue).
- Users: a lognormal activity weight (most users have few sessions, a few have many), a
  preferred category and a preferred brand within it.
- Sessions: a user (drawn by activity), a day (weekly pattern, slight growth), a start time
  (diurnal), a category (mostly the preferred one) and a geometric number of views. The first
  item is drawn by popularity within the category (or the preferred brand); each next item is,
  relative to the previous one, another item of the same model, of the same brand, of the same
  category, a revisit of an earlier item of the session, or (rarely) a jump anywhere. Every draw
  within a group is proportional to popularity, so popularity is preserved while co-viewing
  follows the catalogue's structure. Views are seconds to minutes apart.
- Event types: each view may be followed by a like, and by a cart that may be followed by a
  purchase of the same item.
- About 12% of items are sold out, preferring items that were bought.
- ``bad_rows`` adds malformed rows (null user_id, null item_id, unknown event_type, event_time in
  2099, null event_time, exact duplicates), in roughly equal numbers, spread over partitions.

The same arguments, the end date included, give byte-identical files (fixed seed, pinned writer
options); without one the history ends today (UTC), so that a new lake is fresh.
"""

from sqlrec.data.generate.lake import generate_lake

__all__ = ["generate_lake"]
