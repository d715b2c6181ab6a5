"""Dagster definitions, jobs and the command line of the customs exam risk pipeline."""
