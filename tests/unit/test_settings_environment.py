"""One setting read as `Settings` reads it, for a command that builds no node (so needs no
HOMEWARD_AGENCY): `homeward audit check-export` finds the trust directory this way."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.settings import SettingsError, agency_given, environment


def test_a_setting_is_read_and_typed_without_the_agency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOMEWARD_AGENCY", raising=False)
    monkeypatch.setenv("HOMEWARD_DIRECTORY", "/srv/trust/directory.json")
    assert environment("directory") == Path("/srv/trust/directory.json")
    assert not agency_given()


def test_an_unset_or_empty_setting_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOMEWARD_DIRECTORY", raising=False)
    assert environment("directory") is None
    monkeypatch.setenv("HOMEWARD_AGENCY", "")  # empty is as if not set
    assert not agency_given()
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    assert agency_given()


def test_a_malformed_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEWARD_KAFKA_REPLICATION", "three")
    with pytest.raises(SettingsError, match="HOMEWARD_KAFKA_REPLICATION"):
        environment("kafka_replication")
    monkeypatch.setenv("HOMEWARD_KAFKA_REPLICATION", "40")  # over the bound of 16
    with pytest.raises(SettingsError, match="HOMEWARD_KAFKA_REPLICATION"):
        environment("kafka_replication")
    monkeypatch.setenv("HOMEWARD_KAFKA_REPLICATION", "3")
    assert environment("kafka_replication") == 3
