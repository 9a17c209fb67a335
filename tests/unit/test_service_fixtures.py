"""A missing real service skips a test on a laptop but fails it in CI."""

from __future__ import annotations

import pytest

from tests.harness.support import missing_service


def test_a_missing_service_skips_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOMEWARD_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL"):
        missing_service("no PostgreSQL")


def test_a_missing_service_fails_the_test_when_services_are_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOMEWARD_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="no PostgreSQL"):
        missing_service("no PostgreSQL")
