"""`homeward <command>` imports the named command's module alone (services/cli/__init__.py):
each name of COMMANDS must be a module registering that very sub-command, and help or a
mistyped name still lists them all, in their order."""

from __future__ import annotations

import argparse

import pytest

from services.cli import COMMANDS, _registrations, main


def registered(argv: list[str]) -> list[str]:
    parser = argparse.ArgumentParser(prog="homeward")
    commands = parser.add_subparsers(dest="command")
    for register in _registrations(argv):
        register(commands)
    return list(commands.choices)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_named_command_registers_itself_alone(name: str) -> None:
    assert registered([name, "--help"]) == [name]


@pytest.mark.parametrize("argv", [[], ["--help"], ["bogus"], ["-h", "serve"]])
def test_without_a_known_command_first_every_command_is_listed(argv: list[str]) -> None:
    assert registered(argv) == list(COMMANDS)


def test_a_mistyped_command_is_refused_naming_every_one(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["bogus"])
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in said
    assert all(f"'{name}'" in said for name in COMMANDS)
