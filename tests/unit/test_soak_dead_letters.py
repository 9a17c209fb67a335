"""The soak counts each dead-lettered record once, however often the node's log says it."""

from __future__ import annotations

import json
from pathlib import Path

from bench.soak.run import _dead_letters_logged


def line(offset: int, partition: int = 0, event: str = "message dead-lettered") -> str:
    return json.dumps({"event": event, "topic": "homeward.inbox.xb-nrm",
                       "partition": partition, "offset": offset, "node": "XB-NRM"})


def test_a_record_dead_lettered_again_after_a_kill_is_counted_once(tmp_path: Path) -> None:
    log = tmp_path / "xb-nrm.log"
    log.write_text("\n".join([
        "homeward run: XB-NRM stopped; starting it again in 1 s",  # not JSON
        line(7), line(8), line(7),  # read again before its offset was committed
        line(7, partition=1),  # the same offset of another partition is another record
        line(9, event="message undelivered past its threshold"),
    ]) + "\n")
    assert _dead_letters_logged(log) == 3
    assert _dead_letters_logged(tmp_path / "missing.log") == 0
