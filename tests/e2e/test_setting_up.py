"""docs/setting-up.md works as written: its code blocks, run in order on two "machines"
(two directories), each block in the shell of the agency its first line names, the files
it says to send copied across, `homeward broker` and `homeward serve` left running.
Two substitutions only: free ports for 8001, 8002 and 9092 (other nodes may hold those),
and a canary family name for the person's, looked for in every log line the nodes write:
it must be in none."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.support import free_ports

PAGE = Path(__file__).parents[2] / "docs" / "setting-up.md"
BLOCK = re.compile(r"```sh\n# on (XA-NRM|XB-NRM)\n(.*?)```", re.S)
SEND = re.compile(r"Send `([\w.-]+)` to (XA-NRM|XB-NRM)")
LONG_RUNNING = ("homeward broker", "homeward serve")
CANARY = "Qwertzcanary"
STEP_SECONDS = 90


@dataclass
class Machine:
    home: Path
    env_file: Path = field(init=False)
    running: list[subprocess.Popen[bytes]] = field(default_factory=list)
    said: list[str] = field(default_factory=list)  # what the blocks' commands wrote on stderr
    logs: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True)
        self.env_file = self.home.parent / f"{self.home.name}.env"
        self.env_file.write_text("")

    def run(self, script: str) -> str:
        """The lines before any long-running command in one shell; the shell's variables
        kept for the next block, as in an operator's terminal."""
        lines = script.splitlines()
        start = next((i for i, line in enumerate(lines) if line.startswith(LONG_RUNNING)), None)
        body = "\n".join(lines if start is None else lines[:start])
        keep = "for v in $(compgen -v | grep -E '^(HOMEWARD_|XA$|XB$|ID$)'); do declare -p $v; done"
        wrapped = (f"set -e\ncd {shlex.quote(str(self.home))}\n. {self.env_file}\n{body}\n"
                   f"{keep} > {self.env_file}\n")
        done = subprocess.run(["bash", "-c", wrapped], capture_output=True, text=True,
                              timeout=STEP_SECONDS, env=_clean_env())
        assert done.returncode == 0, (script, done.stdout[-2000:], done.stderr[-3000:])
        self.said += done.stderr.splitlines()
        if start is not None:
            for line in lines[start:]:
                if line.strip():
                    self.start(line)
        return done.stdout

    def start(self, command: str) -> None:
        log = self.home.parent / f"{self.home.name}-{len(self.running)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            self.running.append(subprocess.Popen(
                ["bash", "-c", f"cd {shlex.quote(str(self.home))} && . {self.env_file} && exec {command}"],
                stdout=subprocess.DEVNULL, stderr=out, env=_clean_env(),
                start_new_session=True))
        if command.startswith("homeward serve"):
            port = command.rsplit(" ", 1)[1]
            _wait_ready(f"http://127.0.0.1:{port}/healthz", self.running[-1], log)
        else:  # the broker: ready once it accepts connections
            port = command.split("--port ", 1)[1].split()[0]
            _wait_ready(f"tcp:{port}", self.running[-1], log)

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _clean_env() -> dict[str, str]:
    """This environment without its HOMEWARD_* settings, `homeward` on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEWARD_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import httpx

    deadline = time.monotonic() + STEP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if url.startswith("tcp:"):
                socket.create_connection(("127.0.0.1", int(url[4:])), timeout=1).close()
                return
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except (httpx.HTTPError, OSError):
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered: {log.read_text()[-3000:]}")


def as_run_here(page: str, ports: dict[str, int]) -> str:
    for written, free in ports.items():
        page = page.replace(written, str(free))
    return page.replace('"Ionescu"', f'"{CANARY}"')


def test_the_setting_up_page_runs_as_written(tmp_path: Path) -> None:
    first = free_ports(3)
    ports = {"8001": first, "8002": first + 1, "9092": first + 2}
    page = as_run_here(PAGE.read_text(), ports)
    machines = {"XA-NRM": Machine(tmp_path / "xa-machine"),
                "XB-NRM": Machine(tmp_path / "xb-machine")}
    steps = sorted([(m.start(), "block", m) for m in BLOCK.finditer(page)]
                   + [(m.start(), "send", m) for m in SEND.finditer(page)],
                   key=lambda s: s[0])
    assert [kind for _, kind, _ in steps].count("block") >= 10
    sent_from = {"XA-NRM": "XB-NRM", "XB-NRM": "XA-NRM"}
    try:
        outputs = []
        for _, kind, match in steps:
            if kind == "send":
                name, to = match[1], match[2]
                source = machines[sent_from[to]].home / name
                (machines[to].home / name).write_bytes(source.read_bytes())
            else:
                outputs.append(machines[match[1]].run(match[2]))
        # Both directories list both agencies and the corridor; XB-NRM's sealing key was
        # rotated, and XA-NRM's directory lists the new one beside the old.
        xa_dir = json.loads((machines["XA-NRM"].home / "xa-nrm" / "directory.json").read_text())
        assert set(xa_dir["agencies"]) == {"XA-NRM", "XB-NRM"}
        assert xa_dir["corridors"][0]["referring"] == "XA-NRM"
        assert len(xa_dir["agencies"]["XB-NRM"]["sealing_keys"]) == 2
        assert "true" in outputs[-1]  # the second referral's receipt arrived
    finally:
        for machine in machines.values():
            machine.stop()
    # The rotation is an operational event, logged where it was done.
    rotated = [json.loads(line) for line in machines["XB-NRM"].said if line.startswith("{")]
    assert [(r["event"], r["kind"], r["node"]) for r in rotated] == [
        ("key rotated", "sealing", "XB-NRM")]
    lines = [line for m in machines.values() for log in m.logs
             for line in log.read_text().splitlines()] + [
        line for m in machines.values() for line in m.said]
    assert not [line for line in lines if CANARY.lower() in line.lower()]
    assert not [line for line in lines if "Traceback" in line]
    # The nodes' logs: JSON lines naming the node, their start and their stop (SIGTERM,
    # exit status 0), and the roles each took.
    node_lines = [json.loads(line) for line in lines if line.startswith("{")]
    events = {(str(line["node"]).split("@")[0], line.get("event")) for line in node_lines}
    for agency in machines:
        assert {(agency, "node started"), (agency, "role taken"),
                (agency, "node stopped")} <= events, events
    assert all(p.returncode == 0 for m in machines.values() for p in m.running)


def test_every_shell_block_of_the_page_names_its_machine() -> None:
    """A block the walk could not place on a machine would go untested."""
    page = PAGE.read_text()
    assert page.count("```sh") == len(BLOCK.findall(page)) >= 10
