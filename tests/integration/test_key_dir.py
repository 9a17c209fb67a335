"""The node's secrets (cipher key, JWT secret, signing and sealing keys) live in the key
dir, never in the data dir: a copy of the data dir can neither open the store, nor sign a
token the node accepts, nor speak for the agency. A node on the old layout moves them once."""

from __future__ import annotations

from pathlib import Path

import pytest

from events.steps import OpenCase
from services.bootstrap import build_monitor, build_node, mint
from services.files import SECRET_FILES
from services.network.members import members
from services.settings import SettingsError, load
from tests.harness.builders import ANNA, CANARY, XA, opening


def secrets_in(directory: Path) -> list[Path]:
    """Every file under `directory` named as a secret or holding a private key."""
    return [p for p in directory.rglob("*") if p.is_file() and (
        p.name in SECRET_FILES or b"PRIVATE KEY" in p.read_bytes())]


def test_a_node_on_the_old_layout_moves_its_secrets_and_keeps_its_identity(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "xa-nrm"
    old = load(agency=XA, data_dir=data, key_dir=data)  # as a node kept them before
    node = build_node(old)
    case_id = node.app.open_case(OpenCase.model_validate(opening()), ANNA).id
    assert node.signing is not None
    signing, sealing = node.signing.key_id, node.signing.sealing.key_id
    token = mint(old, "xa-supervisor", ["supervisor"])
    node.close()
    assert {p.name for p in secrets_in(data)} == set(SECRET_FILES)
    capsys.readouterr()

    settings = load(agency=XA, data_dir=data)
    node = build_node(settings)
    try:
        moved = capsys.readouterr().err
        for name in SECRET_FILES:
            assert f"moved {data / name} to {settings.keys / name}" in moved, moved
        assert secrets_in(data) == [] and node.signing is not None
        assert (node.signing.key_id, node.signing.sealing.key_id) == (signing, sealing)
        assert node.tokens.principal(f"Bearer {token}").sub == "xa-supervisor"
        person = node.app.case(case_id).state.person  # read with the same cipher key
        assert person is not None and person["family_name"] == CANARY
        assert settings.keys.stat().st_mode & 0o777 == 0o700
        for name in SECRET_FILES:
            assert (settings.keys / name).stat().st_mode & 0o777 == 0o600
    finally:
        node.close()
    build_node(settings).close()
    assert "moved" not in capsys.readouterr().err  # once


@pytest.mark.kafka
def test_after_start_no_secret_is_in_the_data_dir(tmp_path: Path, kafka_bootstrap: str) -> None:
    data = tmp_path / "xa-nrm"
    node = build_node(load(agency=XA, data_dir=data, kafka_bootstrap=kafka_bootstrap)).start()
    try:
        token = mint(node.settings, "xa-caseworker", ["caseworker"])
        assert node.tokens.principal(f"Bearer {token}").agency == XA
    finally:
        node.close()
    monitor = build_monitor(load(agency="monitor", data_dir=tmp_path / "monitor"))
    monitor.close()
    secret = (tmp_path / "xa-nrm.keys" / "jwt.secret").read_bytes().strip()
    for data_dir in (data, tmp_path / "monitor"):
        assert any(p.is_file() for p in data_dir.rglob("*"))  # the node kept its store there
        assert secrets_in(data_dir) == []
        assert [p for p in data_dir.rglob("*") if p.is_file() and secret in p.read_bytes()] == []
    assert {p.name for p in (tmp_path / "xa-nrm.keys").iterdir()} == set(SECRET_FILES)
    assert {"sealing-key.pem"} <= {p.name for p in (tmp_path / "monitor.keys").iterdir()}


def test_two_different_copies_of_a_secret_stop_the_node(tmp_path: Path) -> None:
    settings = load(agency=XA, data_dir=tmp_path / "xa-nrm")
    build_node(settings).close()
    (settings.home / "jwt.secret").write_text("x" * 40 + "\n")  # a backup put back, say
    with pytest.raises(SettingsError, match="^HOMEWARD_KEY_DIR: .*jwt.secret .* differ"):
        build_node(settings)
    assert (settings.keys / "jwt.secret").read_text() != "x" * 40 + "\n"


def test_the_embedded_nodes_keep_a_key_dir_each_whatever_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOMEWARD_KEY_DIR", str(tmp_path / "shared"))
    dirs = [m.keys() for m in members(tmp_path, 8001)]
    assert dirs == [tmp_path / "xa-nrm.keys", tmp_path / "xb-nrm.keys", tmp_path / "xc-nrm.keys",
                    tmp_path / "monitor.keys"]


def test_a_key_dir_the_node_cannot_make_stops_it_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    settings = load(agency=XA, data_dir=tmp_path / "xa-nrm", key_dir=tmp_path / "file" / "keys")
    with pytest.raises(SettingsError, match="^HOMEWARD_KEY_DIR: .*file/keys: "):
        build_node(settings)
