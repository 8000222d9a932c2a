"""The SDK's standard target tests (all of the default suite) against a real PostgreSQL."""

from __future__ import annotations

import pytest
from singer_sdk.testing import TargetTestRunner, get_target_test_class

from target_supabase_hybrid.target import TargetSupabaseHybrid

_StandardTests = get_target_test_class(
    TargetSupabaseHybrid, config={"database_url": "postgresql://unused@127.0.0.1/unused"}
)


class TestTargetSupabaseHybridStandard(_StandardTests):  # type: ignore[misc, valid-type]
    """Every default SDK target test, each on a fresh database."""

    @pytest.fixture
    def runner(self, database_url: str) -> TargetTestRunner:
        return TargetTestRunner(target_class=TargetSupabaseHybrid, config={"database_url": database_url})
