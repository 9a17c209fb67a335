"""`homeward token` and `homeward serve`: tokens the node accepts, bad settings refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.api.identity.auth import TokenVerifier, Unauthorized
from services.bootstrap import jwt_secret, token_verifier
from services.cli import main
from services.files import default_key_dir
from services.settings import load


def test_token_prints_a_token_the_node_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOMEWARD_AGENCY", raising=False)
    assert main(["token", "--agency", "XA-NRM", "--role", "caseworker", "--role", "supervisor",
                 "--sub", "ana", "--data-dir", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip()
    secret = jwt_secret(load(agency="XA-NRM", data_dir=tmp_path))
    who = TokenVerifier(secret=secret, agency="XA-NRM").principal(f"Bearer {token}")
    assert (who.sub, who.agency, sorted(who.roles)) == ("ana", "XA-NRM",
                                                        ["caseworker", "supervisor"])


def test_token_refuses_a_bad_agency(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--agency", "xa", "--role", "caseworker", "--sub", "ana"]) == 2
    assert "agency code" in capsys.readouterr().err


def test_serve_with_a_bad_setting_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv("HOMEWARD_DATABASE_URL", "mysql://nowhere/db")
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HOMEWARD_DATABASE_URL" in err


def test_serve_without_an_agency_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOMEWARD_AGENCY", raising=False)
    assert main(["serve"]) == 2
    assert "HOMEWARD_AGENCY" in capsys.readouterr().err


def test_token_mints_only_for_the_agency_whose_secret_it_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    for agency in ("XB-NRM", "monitor"):
        assert main(["token", "--agency", agency, "--role", "supervisor", "--sub", "eve",
                     "--data-dir", str(tmp_path)]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and "holds the secret of XA-NRM" in captured.err


def test_token_signs_for_the_nodes_issuer_and_audience(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv("HOMEWARD_TOKEN_AUDIENCE", "homeward-xa")
    assert main(["token", "--agency", "XA-NRM", "--role", "caseworker", "--sub", "ana",
                 "--data-dir", str(tmp_path)]) == 0
    token = capsys.readouterr().out.strip()
    settings = load(data_dir=tmp_path)
    who = token_verifier(settings).principal(f"Bearer {token}")
    assert who.agency == "XA-NRM"
    with pytest.raises(Unauthorized):  # the default audience is not this node's any more
        TokenVerifier(secret=jwt_secret(settings), agency="XA-NRM").principal(f"Bearer {token}")


def signing_in_through(monkeypatch: pytest.MonkeyPatch, issuer: str) -> None:
    """XA's node configured to sign in through the provider at `issuer`."""
    monkeypatch.setenv("HOMEWARD_AGENCY", "XA-NRM")
    monkeypatch.setenv("HOMEWARD_OIDC_ISSUER", issuer)
    monkeypatch.setenv("HOMEWARD_OIDC_CLIENT_ID", "homeward-xa")


def test_token_refuses_a_node_that_signs_in_through_its_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    signing_in_through(monkeypatch, "https://idp.example/realms/xa")
    assert main(["token", "--agency", "XA-NRM", "--role", "caseworker", "--sub", "ana",
                 "--data-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "HOMEWARD_OIDC_ISSUER" in captured.err
    made = [tmp_path / "jwt.secret", default_key_dir(tmp_path) / "jwt.secret"]
    assert not any(p.exists() for p in made)  # no secret made that nothing would trust


def test_serve_refuses_a_provider_in_the_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    signing_in_through(monkeypatch, "http://idp.example/realms/xa")
    assert main(["serve", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HOMEWARD_OIDC_ISSUER" in err and "https://" in err
