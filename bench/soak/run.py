"""The soak: `homeward run` under two-way traffic on its cases while faults are injected at
seeded random moments, then checked (bench/soak/checks.py). A progress line every few
seconds; a summary with its figures at the end; the exit status names what failed."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.soak import checks
from bench.soak.checks import DeadLetterWatch, Verdict
from bench.soak.faults import KINDS, Injector, schedule
from bench.soak.network import Network
from bench.soak.traffic import Traffic
from services.exchange import topics
from services.network.members import MONITOR, RECEIVING, REFERRING

RSS_BOUND_MIB = 400  # each node's resident memory, at its peak
SETTLE = 180.0  # seconds the network has, after the traffic, to converge
PROGRESS_EVERY = 10.0
MONITOR_CHECK = "the monitor's counts equal the agencies' milestones"
PARTITIONS_CHECK = "no partition stopped"


@dataclass
class Options:
    minutes: float = 10.0
    seed: int | None = None
    cases: int = 50
    malformed: bool = True
    broker_store: str | None = None
    rss_bound_mib: int = RSS_BOUND_MIB
    data_dir: Path | None = None  # default: a temporary one, removed after a passing run
    settle: float = SETTLE
    faults: tuple[str, ...] = KINDS  # the kinds injected (malformed only if `malformed`)
    stages: int = 5  # how many of the demo stages the cases go to, in turn (referral first)


@dataclass
class Report:
    seed: int
    verdict: Verdict
    faults: dict[str, int]
    fault_log: list[str]
    seconds: float
    data_dir: Path
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def summary(self) -> str:
        v, lines = self.verdict, [""]
        lines.append(f"soak {'PASSED' if self.ok else 'FAILED'} in {self.seconds / 60:.1f} min "
                     f"(seed {self.seed}; data {self.data_dir})")
        for name, value in {**self.figures, **v.figures}.items():
            lines.append(f"  {name}: {value}")
        lines.append(f"  faults injected: {dict(sorted(self.faults.items()))}")
        lines += [f"    {line}" for line in self.fault_log]
        for name, problems in v.failed.items():
            lines.append(f"  FAILED: {name}")
            lines += [f"    - {p}" for p in problems[:15]]
            if len(problems) > 15:
                lines.append(f"    ... and {len(problems) - 15} more")
        return "\n".join(lines)


def soak(options: Options, say: Callable[[str], None] = print) -> Report:
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**6)
    rng = random.Random(seed)
    duration = options.minutes * 60
    data_dir = options.data_dir or Path(tempfile.mkdtemp(prefix="homeward-soak-"))
    say(f"soak: {options.minutes:g} min, {options.cases} cases, seed {seed}, malformed records "
        f"{'on' if options.malformed else 'off'}, broker store "
        f"{options.broker_store or 'memory'}, data {data_dir}")
    began_all = time.monotonic()
    network = Network(data_dir, options.broker_store).start()
    members = network.members
    watch, stalls = DeadLetterWatch(network.bootstrap), checks.Stalls(network.bootstrap)
    injector = Injector(network, rng, say,
                        before_broker_kill=lambda: watch.collect(broker_dies=True))
    kinds = tuple(k for k in options.faults if options.malformed or k != "malformed")
    faults = schedule(rng, duration, max(1, int(options.minutes // 3)), kinds)
    say("soak: faults at " + ", ".join(f"{f.at:g} s {f.kind}" for f in faults))
    traffic = Traffic(members[REFERRING], members[RECEIVING], options.cases,
                      window=duration * 0.7, stages=options.stages)
    stop, verdict = threading.Event(), Verdict()
    try:
        began = time.monotonic()
        workers = traffic.run(stop)
        faulting = threading.Thread(target=injector.run, args=(faults, began, stop),
                                    daemon=True, name="faults")
        faulting.start()
        _watch(network, traffic, injector, watch, stalls, began, duration, say)
        faulting.join()
        _settle(network, traffic, watch, verdict, began, options.settle, say)
        stop.set()
        for worker in workers:
            worker.join(timeout=15)
        _judge(network, traffic, injector, watch, verdict, options)
        if stalls.found:
            verdict.failed.setdefault(PARTITIONS_CHECK, []).extend(stalls.found)
    finally:
        stop.set()
        network.stop()
    report = Report(seed, verdict, dict(injector.done), injector.log,
                    time.monotonic() - began_all, data_dir)
    report.figures = {"steps recorded": f"{traffic.recorded} of {traffic.total}",
                      "answers": dict(traffic.statuses),
                      "malformed records": dict(injector.injected.kinds)}
    if report.ok and options.data_dir is None:
        shutil.rmtree(data_dir, ignore_errors=True)
    return report


def _watch(network: Network, traffic: Traffic, injector: Injector, watch: DeadLetterWatch,
           stalls: checks.Stalls, began: float, duration: float, say: Callable[[str], None]
           ) -> None:
    """Until the duration is over: memory sampled each second, dead letters read now and
    then, a progress line every PROGRESS_EVERY seconds."""
    said = looked = peeked = began
    while (now := time.monotonic()) < began + duration:
        rss = network.sample_memory()
        if now - looked > 20:
            watch.collect()
            looked = now
        if now - peeked > 10:
            stalls.look(watch.epoch)
            peeked = now
        if now - said >= PROGRESS_EVERY:
            said = now
            say(f"soak {_clock(now - began)}/{_clock(duration)}  steps {traffic.recorded}/"
                f"{traffic.total}  faults {sum(injector.done.values())}  rss MiB "
                + " ".join(f"{k} {v // 1024}" for k, v in sorted(rss.items())))
        time.sleep(1.0)


def _settle(network: Network, traffic: Traffic, watch: DeadLetterWatch, verdict: Verdict,
            began: float, settle: float, say: Callable[[str], None]) -> None:
    """The traffic finishes and every fact arrives, or `settle` seconds pass."""
    deadline, members = time.monotonic() + settle, network.members
    while time.monotonic() < deadline:
        network.sample_memory()
        if traffic.finished:
            checks.facts(traffic, verdict)
            _quietly(verdict, MONITOR_CHECK, lambda: checks.boards(
                traffic, members[MONITOR], verdict))
            _quietly(verdict, PARTITIONS_CHECK, lambda: checks.partitions(
                network.bootstrap, members, verdict))
            if verdict.ok:
                say(f"soak: converged {_clock(time.monotonic() - began)} after the start")
                return
        time.sleep(3.0)
    say(f"soak: not converged within {settle:g} s of the end of the traffic")


def _judge(network: Network, traffic: Traffic, injector: Injector, watch: DeadLetterWatch,
           verdict: Verdict, options: Options) -> None:
    network.sample_memory()
    watch.collect()
    members = network.members
    checks.facts(traffic, verdict)
    _quietly(verdict, MONITOR_CHECK, lambda: checks.boards(traffic, members[MONITOR], verdict))
    _quietly(verdict, PARTITIONS_CHECK,
             lambda: checks.partitions(network.bootstrap, members, verdict))
    logged = {a: _dead_letters_logged(network.data_dir / f"{a.lower()}.log")
              for a in checks.AGENCIES}
    expected = {a: injector.injected.per_topic.get(topics.inbox(a), 0) for a in checks.AGENCIES}
    problems = watch.from_agencies(injector.injected)
    problems += [f"{a}: {n} dead letters in its log, {expected[a]} records injected"
                 for a, n in logged.items() if n > expected[a]]
    verdict.figures["dead letters (logged / injected)"] = {
        a: f"{logged[a]} / {expected[a]}" for a in checks.AGENCIES}
    verdict.check("nothing an agency sent dead-lettered", problems)
    checks.memory(network.peaks, options.rss_bound_mib, verdict)
    verdict.check("every fault injected", injector.failures)
    if not verdict.ok:
        verdict.figures["the nodes at the end"] = "\n    " + "\n    ".join(
            checks.diagnosis(members))


def _quietly(verdict: Verdict, name: str, check: Callable[[], None]) -> None:
    try:
        check()
    except Exception as error:  # a check that cannot look is a failed check
        verdict.check(name, [f"could not check: {type(error).__name__}: {error}"])


def _dead_letters_logged(path: Path) -> int:
    """The records the node's log says it dead-lettered, each counted once: a record read
    again after a kill, before its offset was committed, is dead-lettered again."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return 0
    records = set()
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the supervisor's and the libraries' plain lines
        if isinstance(entry, dict) and entry.get("event") == "message dead-lettered":
            records.add((entry.get("topic"), entry.get("partition"), entry.get("offset")))
    return len(records)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
