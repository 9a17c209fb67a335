"""Where a partner's node answers, as the trust directory lists it: https, or http on this
machine's loopback for development. A file listing another address is refused whole,
saying which agency's and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.exchange.directory import DirectoryFile, DirectoryUnreadable, load, publish
from services.signing import SigningKey


def listed(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "directory.json"
    publish(path, SigningKey.generate("XB-NRM"))
    document = json.loads(path.read_text())
    document["agencies"]["XB-NRM"]["url"] = url
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize("url", [
    "https://xb-nrm.example", "https://10.0.0.7:8443/homeward", "http://127.0.0.1:8002",
    "http://localhost:8002", "http://[::1]:8002"])
def test_https_and_loopback_addresses_are_listed(tmp_path: Path, url: str) -> None:
    assert load(listed(tmp_path, url)).url("XB-NRM") == url


@pytest.mark.parametrize("url", [
    "http://xb-nrm.example", "http://10.0.0.7:8000", "http://127.0.0.1.xb-nrm.example",
    "http://localhost.xb-nrm.example:8002", "https://:8443"])
def test_an_address_in_the_clear_is_refused_with_the_agency_named(tmp_path: Path,
                                                                  url: str) -> None:
    path = listed(tmp_path, url)
    with pytest.raises(ValidationError, match="http:// only on loopback"):
        load(path)
    with pytest.raises(DirectoryUnreadable) as unreadable:
        DirectoryFile(path).current()
    assert str(unreadable.value).startswith("directory.json cannot be read: agencies.XB-NRM.url")
    assert "https://" in str(unreadable.value)


def test_an_address_in_the_clear_is_not_written_either(tmp_path: Path) -> None:
    directory = load(listed(tmp_path, "https://xb-nrm.example"))
    assert directory.with_url("XB-NRM", "http://127.0.0.1:8002").url("XB-NRM")
    with pytest.raises(ValidationError, match="http:// only on loopback"):
        directory.with_url("XB-NRM", "http://xb-nrm.example")
