"""One case compared across both agencies: each agency's received facts against what the
other's stream says it sent, and each checkpoint either side holds against the stream of
the agency that signed it. The first divergence is named first.

`mine` is this agency's chain view (services/anchors/partner.py), `theirs` the partner's
as its node answered, or None when it holds no stream of the case."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.anchors.checkpoint import Checkpoint, KeyOf


@dataclass(frozen=True)
class Divergence:
    agency: str  # whose stream no longer says what was signed or sent
    kind: str  # missing-case, message, truncated, rewritten, checkpoint
    where: str  # "message 3" or "version 7"
    detail: str

    def __str__(self) -> str:
        return f"{self.agency}, {self.where}: {self.kind}: {self.detail}"


def cross_check(me: str, partner: str, mine: dict[str, Any] | None,
                theirs: dict[str, Any] | None, held_here: list[Checkpoint],
                key_of: KeyOf) -> list[Divergence]:
    """Every divergence, the first one first."""
    if theirs is None or mine is None:
        return _missing(me, partner, mine, theirs, held_here)
    out = _facts(partner, mine, theirs) + _facts(me, theirs, mine)
    held_there = [Checkpoint.of(c) for c in theirs["checkpoints"]]
    out += _anchors(partner, theirs, [c for c in held_here if c.agency == partner], key_of, me)
    out += _anchors(me, mine, [c for c in held_there if c.agency == me], key_of, partner)
    return out


def _missing(me: str, partner: str, mine: dict[str, Any] | None,
             theirs: dict[str, Any] | None, held_here: list[Checkpoint]) -> list[Divergence]:
    if mine is None and theirs is None:
        return []
    if theirs is None:
        gone, signed = partner, [c for c in held_here if c.agency == partner]
    else:  # gone here: the partner's copies of this agency's checkpoints say how far it went
        held_there = [Checkpoint.of(c) for c in theirs["checkpoints"]]
        gone, signed = me, [c for c in [*held_here, *held_there] if c.agency == me]
    last = max((c.version for c in signed), default=0)
    detail = (f"{gone} holds no stream of the case" +
              (f", though it signed it up to version {last}" if last else ""))
    return [Divergence(gone, "missing-case", f"version {last}", detail)]


def _facts(sender: str, receiver_view: dict[str, Any], sender_view: dict[str, Any]
           ) -> list[Divergence]:
    """The receiver's facts from `sender` against the digests the sender's stream gives."""
    if sender_view["erased"]:
        return []  # digests of messages sent before erasure cannot be recomputed
    sent = {m["sequence"]: m["digest"] for m in sender_view["sent"]}
    out = []
    for fact in sorted(receiver_view["received"], key=lambda f: f["sequence"]):
        n, receiver = fact["sequence"], receiver_view["agency"]
        if n not in sent:
            out.append(Divergence(sender, "truncated", f"message {n}",
                                  f"{receiver} recorded it, {sender}'s stream no longer sends it"))
        elif sent[n] != fact["sender_hash"]:
            out.append(Divergence(sender, "message", f"message {n}",
                                  f"{receiver} recorded digest {fact['sender_hash'][:16]}..., "
                                  f"{sender}'s stream now gives {sent[n][:16]}..."))
    return out


def _anchors(signer: str, signer_view: dict[str, Any], held: list[Checkpoint], key_of: KeyOf,
             holder: str) -> list[Divergence]:
    """Checkpoints `signer` signed, held by `holder`, against the signer's stream now."""
    hashes = {m["version"]: m["hash"] for m in signer_view["sent"]}
    # and at each fact it received: where the checkpoints its receipts carried stand
    hashes |= {f["version"]: f["hash"] for f in signer_view["received"] if f.get("hash")}
    head = signer_view["head"]
    hashes[head["version"]] = head["hash"]
    out = []
    for checkpoint in sorted(held, key=lambda c: c.version):
        where = f"version {checkpoint.version}"
        if not checkpoint.valid(key_of):
            out.append(Divergence(signer, "checkpoint", where,
                                  f"the checkpoint {holder} holds does not verify"))
        elif checkpoint.version > head["version"]:
            out.append(Divergence(signer, "truncated", where,
                                  f"{signer} signed it at {checkpoint.at} ({holder} holds it); "
                                  f"its stream now ends at version {head['version']}"))
            break
        elif checkpoint.version not in hashes:
            out.append(Divergence(signer, "rewritten", where,
                                  f"{signer} signed its stream there at {checkpoint.at} "
                                  f"({holder} holds it); it has no such step now"))
            break
        elif hashes[checkpoint.version] != checkpoint.hash:
            out.append(Divergence(signer, "rewritten", where,
                                  f"{signer}'s stream has another hash there than the one it "
                                  f"signed at {checkpoint.at} ({holder} holds it)"))
            break
    return out
