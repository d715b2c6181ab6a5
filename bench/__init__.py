"""The benchmark (`make bench`, `python -m pipelines bench`): run.py times the pipeline against the
lower bound (lower_bound.sql), each measured step in its own process (steps.py); bwt.py measures the
Border Wait Times ingest rate. Kept out of the Dagster package: nothing here is loaded by
pipelines.definitions."""
