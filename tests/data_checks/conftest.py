"""Shared fixtures of the data-check tests."""

import pytest


@pytest.fixture(scope="session")
def adult():
    from assay.datasets import load_adult

    return load_adult()


@pytest.fixture(scope="session")
def adult_report(adult):
    """run_data_checks on Adult (its timing is in benchmarks/, not in a test)."""
    from assay.data_checks import run_data_checks

    return run_data_checks(adult.train, adult.test)
