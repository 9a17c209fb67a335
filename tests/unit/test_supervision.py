"""The embedded network's supervisor: a member that dies is started again, with backoff,
and the output says so."""

from __future__ import annotations

from services.network.supervision import Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_member_that_dies_is_started_again_with_backoff_and_said_so() -> None:
    clock, said, state = Clock(), [], {"up": True, "starts": 0, "refuse": 0}

    def restart() -> None:
        if state["refuse"]:
            state["refuse"] -= 1
            raise OSError("port 9092 is in use")
        state["up"], state["starts"] = True, state["starts"] + 1

    supervisor = Supervisor(said.append, first=1.0, longest=4.0, clock=clock)
    supervisor.watch("the broker", lambda: bool(state["up"]), restart)
    supervisor.check()
    assert said == [] and state["starts"] == 0

    state["up"], state["refuse"] = False, 2
    supervisor.check()
    assert said[-1] == "homeward run: the broker stopped; starting it again in 1 s"
    clock.now = 0.5
    supervisor.check()
    assert state["starts"] == 0  # not before its time
    clock.now = 1.0
    supervisor.check()  # refused: twice as long
    assert "could not start (OSError: port 9092 is in use); starting it again in 2 s" in said[-1]
    clock.now = 3.0
    supervisor.check()
    assert said[-1].endswith("starting it again in 4 s")  # at most `longest`
    clock.now = 7.0
    supervisor.check()
    assert state["starts"] == 1 and said[-1] == "homeward run: the broker is running again"

    clock.now = 100.0  # up for more than a minute: its failures are forgiven
    supervisor.check()
    state["up"] = False
    supervisor.check()
    assert said[-1].endswith("starting it again in 1 s")
