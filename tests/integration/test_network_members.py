"""The embedded network's members: three agencies and the monitor on their ports, and the
trust directory's corridors between them; or two agencies and their one corridor."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main
from services.exchange.directory import load
from services.network.members import members, trust


def test_three_agencies_xc_on_base_plus_three_and_three_corridors(tmp_path: Path) -> None:
    nodes = members(tmp_path, 8101)
    assert [(m.agency, m.port) for m in nodes] == [
        ("XA-NRM", 8101), ("XB-NRM", 8102), ("XC-NRM", 8104), ("monitor", 8103)]
    directory = load(trust(tmp_path, nodes))
    assert set(directory.agencies) == {"XA-NRM", "XB-NRM", "XC-NRM"}
    assert [(c.referring, c.receiving) for c in directory.corridors] == [
        ("XA-NRM", "XB-NRM"), ("XA-NRM", "XC-NRM"), ("XC-NRM", "XB-NRM")]
    assert directory.sealing("monitor") is not None
    assert directory.url("XC-NRM") == "http://127.0.0.1:8104"
    assert directory.corridor("XB-NRM", "XA-NRM") is None  # a corridor has a direction


def test_two_agencies_keep_the_one_corridor(tmp_path: Path) -> None:
    nodes = members(tmp_path, 8101, agencies=2)
    assert [(m.agency, m.port) for m in nodes] == [
        ("XA-NRM", 8101), ("XB-NRM", 8102), ("monitor", 8103)]
    directory = load(trust(tmp_path, nodes))
    assert set(directory.agencies) == {"XA-NRM", "XB-NRM"}
    assert [(c.referring, c.receiving) for c in directory.corridors] == [("XA-NRM", "XB-NRM")]
    with pytest.raises(ValueError, match="two or three"):
        members(tmp_path, 8101, agencies=4)


def test_run_takes_two_or_three_agencies_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["run", "--agencies", "4"])
    assert refused.value.code == 2
    assert "--agencies" in capsys.readouterr().err
