"""The generated catalogue: categories, brands, models of about eight items, prices, popularity,
and which items are sold out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# category -> (share of items and of users' preferences, median price, price sigma,
#              {brand: (share within the category, price multiplier)})
CATEGORIES: dict[str, tuple[float, float, float, dict[str, tuple[float, float]]]] = {
    "sneakers": (0.40, 140.0, 0.45, {
        "Nike": (0.28, 1.0),
        "Adidas": (0.20, 0.9),
        "Jordan": (0.12, 1.5),
        "New Balance": (0.14, 1.0),
        "Asics": (0.10, 0.85),
        "Salomon": (0.08, 1.2),
        "Converse": (0.08, 0.6),
    }),
    "tech": (0.30, 320.0, 0.80, {
        "Apple": (0.30, 1.5),
        "Samsung": (0.20, 1.1),
        "Sony": (0.15, 1.0),
        "Nintendo": (0.12, 0.8),
        "Google": (0.08, 1.0),
        "Bose": (0.08, 0.9),
        "DJI": (0.07, 1.6),
    }),
    "life": (0.30, 55.0, 0.75, {
        "IKEA": (0.25, 0.5),
        "Muji": (0.15, 0.6),
        "Le Creuset": (0.10, 2.5),
        "Dyson": (0.12, 4.0),
        "Stanley": (0.12, 0.8),
        "Smeg": (0.08, 3.0),
        "Bodum": (0.08, 0.7),
        "Hay": (0.10, 1.2),
    }),
}

ZIPF_EXPONENT = 0.8  # top 1% of 5,000 items: ~28% of the popularity mass
MODEL_SIZE = 8.0  # mean items per model (colourways, sizes, conditions of one product)
ITEM_PRICE_SIGMA = 0.1  # lognormal spread of an item's price around its model's
MIN_PRICE = 1.0
SOLD_OUT_SHARE = 0.12
# how much likelier a bought item is to be sold out: 1 + BOUGHT * (bought at all)
#                                                 + min(purchases, PURCHASES_CAP) / PER_PURCHASE
SOLD_OUT_BOUGHT = 4.0
SOLD_OUT_PURCHASES_CAP = 20
SOLD_OUT_PER_PURCHASE = 4.0


@dataclass
class Catalogue:
    """Items in internal order: sorted by category, brand and model, so every group is a range
    of item indexes."""

    n: int
    category: Any  # category index per item
    category_names: list[str]
    category_range: Any  # [2, categories]: the [start, end) items of each category
    brand: Any  # global brand index per item
    brand_names: list[str]
    price: Any
    cum: Any  # cumulative popularity, cum[0] = 0: the items of [lo, hi) weigh cum[hi] - cum[lo]
    bounds: dict[str, tuple[Any, Any]]  # "model", "brand", "category": each item's group range
    number: Any  # the public id number of each internal item
    available: Any = None  # is_available per item, once the events are known


def _largest_remainder(shares: Any, total: int) -> Any:
    import numpy as np

    raw = np.asarray(shares, dtype=np.float64) / np.sum(shares) * total
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _group_bounds(keys: Any) -> tuple[Any, Any]:
    """For a sorted key array: the [start, end) of each element's run of equal keys."""
    import numpy as np

    return (np.searchsorted(keys, keys, side="left").astype(np.int64),
            np.searchsorted(keys, keys, side="right").astype(np.int64))


def make_catalogue(rng: Any, n_items: int) -> Catalogue:
    """Items in internal order: sorted by category, brand, model (so every group is a range)."""
    import numpy as np

    names = list(CATEGORIES)
    per_category = _largest_remainder([CATEGORIES[c][0] for c in names], n_items)
    category = np.repeat(np.arange(len(names)), per_category)
    brand_names: list[str] = []
    brand = np.empty(n_items, dtype=np.int64)  # global brand index
    price = np.empty(n_items, dtype=np.float64)
    new_model = np.zeros(n_items, dtype=bool)
    start = 0
    for c, name in enumerate(names):
        _, median, sigma, brands = CATEGORIES[name]
        shares = np.array([s for s, _ in brands.values()])
        mult = np.array([m for _, m in brands.values()])
        n = int(per_category[c])
        local = np.sort(rng.choice(len(brands), size=n, p=shares / shares.sum()))
        brand[start:start + n] = len(brand_names) + local
        brand_names.extend(brands)
        # models: runs of about MODEL_SIZE items within a brand, sharing a base price
        breaks = rng.random(n) < 1.0 / MODEL_SIZE
        if n:
            breaks[0] = True
            breaks[1:] |= local[1:] != local[:-1]
        model_local = np.cumsum(breaks) - 1
        base = median * np.exp(sigma * rng.standard_normal(int(breaks.sum())))
        item_price = (base[model_local] * mult[local]
                      * np.exp(ITEM_PRICE_SIGMA * rng.standard_normal(n)))
        price[start:start + n] = np.maximum(np.round(item_price, 2), MIN_PRICE)
        new_model[start:start + n] = breaks
        start += n
    model = np.cumsum(new_model) - 1
    popularity = (rng.permutation(n_items) + 1.0) ** -ZIPF_EXPONENT
    cum = np.concatenate([[0.0], np.cumsum(popularity)])
    bounds = {
        "model": _group_bounds(model),
        "brand": _group_bounds(brand),
        "category": _group_bounds(category),
    }
    category_range = np.stack([np.searchsorted(category, np.arange(len(names)), side="left"),
                               np.searchsorted(category, np.arange(len(names)), side="right")])
    return Catalogue(
        n=n_items,
        category=category,
        category_names=names,
        category_range=category_range,
        brand=brand,
        brand_names=brand_names,
        price=price,
        cum=cum,
        bounds=bounds,
        number=rng.permutation(n_items) + 1,
    )


def draw_in_ranges(rng: Any, cum: Any, lo: Any, hi: Any) -> Any:
    """One index per row, drawn from [lo, hi) with probability proportional to popularity."""
    import numpy as np

    x = cum[lo] + rng.random(len(lo)) * (cum[hi] - cum[lo])
    return np.clip(np.searchsorted(cum, x, side="right") - 1, lo, hi - 1)


def sold_out(rng: Any, purchases: Any) -> Any:
    """is_available per item: SOLD_OUT_SHARE of items sold out, bought items far more likely."""
    import numpy as np

    n = len(purchases)
    weight = (1.0 + SOLD_OUT_BOUGHT * (purchases > 0)
              + np.minimum(purchases, SOLD_OUT_PURCHASES_CAP) / SOLD_OUT_PER_PURCHASE)
    keys = np.log(rng.random(n) + 1e-300) / weight  # weighted sampling without replacement
    sold = np.argsort(-keys, kind="stable")[: int(round(SOLD_OUT_SHARE * n))]
    available = np.ones(n, dtype=bool)
    available[sold] = False
    return available
