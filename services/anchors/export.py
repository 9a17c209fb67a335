"""Exports an auditor can hand on: signed line by line with the node's key, checkable by
anyone who holds the trust directory, and naming the line that was altered.

The signature is one line of the file (JSON: the `signature` member, the last; HTML: a
closing comment). It lists a short SHA-256 of every other line, in order, and the SHA-256
of them all, signed (Ed25519) over the bytes `homeward export ` followed by the canonical
JSON (RFC 8785) of the signature block without `signature`. Any change to the file breaks
the whole hash; the line hashes say which line changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from services.anchors.checkpoint import KeyOf
from services.signing import SigningKey, canonical_json, verify

LABEL = b"homeward export "
JSON_MARK = '  "signature": '
HTML_MARK = "<!-- homeward-signature "
HTML_END = " -->"
LINE_HASH = 16  # hex digits per line: where a change is; the whole hash says whether


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _block(lines: list[str], key: SigningKey) -> dict[str, Any]:
    block: dict[str, Any] = {"agency": key.agency, "key_id": key.key_id, "algorithm": "Ed25519",
                             "file_hash": _sha("\n".join(lines)),
                             "lines": [_sha(line)[:LINE_HASH] for line in lines]}
    return {**block, "signature": key.sign(LABEL + canonical_json(block))}


def signed_json(document: dict[str, Any], key: SigningKey) -> str:
    """The document as indented JSON, its last member the signature of every other line."""
    lines = json.dumps({**document, "signature": None}, indent=2, ensure_ascii=False).split("\n")
    at = lines.index(JSON_MARK + "null")
    covered = lines[:at] + lines[at + 1:]
    lines[at] = JSON_MARK + json.dumps(_block(covered, key), separators=(",", ":"))
    return "\n".join(lines) + "\n"


def signed_html(page: str, key: SigningKey) -> str:
    lines = page.rstrip("\n").split("\n")
    block = json.dumps(_block(lines, key), separators=(",", ":"))
    return "\n".join([*lines, HTML_MARK + block + HTML_END]) + "\n"


@dataclass
class Verdict:
    signer: str | None = None
    key_id: str | None = None
    signature_valid: bool = False
    altered: list[int] = field(default_factory=list)  # line numbers in the file, from 1
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.signature_valid and not self.altered and not self.problems


def check(text: str, key_of: KeyOf) -> Verdict:
    """Whether the file is as its signer signed it; the lines that are not."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    marked = [n for n, line in enumerate(lines)
              if line.startswith(JSON_MARK + "{") or line.startswith(HTML_MARK)]
    if len(marked) != 1:
        return Verdict(problems=["the file holds no signature line (or more than one)"])
    at = marked[0]
    raw = lines[at].removeprefix(JSON_MARK).removeprefix(HTML_MARK).removesuffix(HTML_END)
    try:
        block = json.loads(raw)
        signer, key_id, listed = str(block["agency"]), str(block["key_id"]), list(block["lines"])
        unsigned = {k: v for k, v in block.items() if k != "signature"}
        signature = str(block["signature"])
    except (ValueError, KeyError, TypeError):
        return Verdict(altered=[at + 1], problems=[f"line {at + 1}, the signature, is unreadable"])
    verdict = Verdict(signer, key_id)
    key = key_of(signer, key_id)
    if key is None:
        verdict.problems.append(f"{signer}'s key {key_id} is not in the trust directory")
    else:
        verdict.signature_valid = verify(key, signature, LABEL + canonical_json(unsigned))
        if not verdict.signature_valid:
            verdict.altered.append(at + 1)
            verdict.problems.append(f"line {at + 1}, the signature, does not verify")
    covered = lines[:at] + lines[at + 1:]
    for n in range(max(len(covered), len(listed))):
        same = n < len(covered) and n < len(listed) and _sha(covered[n])[:LINE_HASH] == listed[n]
        if not same:
            verdict.altered.append(n + 1 if n < at else n + 2)
    if not verdict.altered and _sha("\n".join(covered)) != block.get("file_hash"):
        verdict.problems.append("the file's hash does not match its signature")
    verdict.altered.sort()
    return verdict


@dataclass(frozen=True)
class Provenance:
    """Who exported a case's record, when, why, and whether it holds personal data."""

    agency: str
    exported_by: str
    exported_at: str  # RFC 3339
    purpose: str | None
    personal: bool


def document(case_id: str, rows: list[dict[str, Any]], faults: list[str],
             anchors: list[dict[str, Any]], provenance: Provenance) -> dict[str, Any]:
    """The export before it is signed: provenance, the verdict, the anchors, the events."""
    return {"export": "homeward.export.v1", "case_id": case_id, "agency": provenance.agency,
            "exported_at": provenance.exported_at, "exported_by": provenance.exported_by,
            "purpose": provenance.purpose, "personal_data": provenance.personal,
            "chain_intact": not faults, "breaks": faults, "anchors": anchors, "events": rows}
