"""Data in and out of the lake: the lake layout (`lake`), the project's seeds as Python reads
them (`seeds`), MovieLens-100k (`movielens`) and the synthetic marketplace (`generate`)."""
