import pytest


@pytest.fixture(autouse=True)
def _monday(monday_morning):
    """Every test here runs on Monday morning in Chandler (see tests/conftest.py)."""
