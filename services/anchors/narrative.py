"""An export as a narrative a court can follow: who exported it, when, why and whether it
holds personal data; the verdict on the chain and its anchors; then the case, step by step,
each step and field named in words (the pages' English words), dates written out, the
partner's facts marked as received, and at the end the chain itself and the checkpoints both
agencies signed. With a print stylesheet: it is meant to be printed and filed."""

from __future__ import annotations

import html
import json
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

WORDS = Path(__file__).resolve().parents[1] / "api" / "web" / "ui" / "i18n" / "en.json"
STYLE = """body{font:15px/1.5 Georgia,'Times New Roman',serif;margin:2.5em auto;max-width:52em;
color:#111;padding:0 1.5em}h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;
border-bottom:1px solid #999;margin-top:2em}.meta{border:1px solid #999;padding:.6em 1em;
background:#f7f7f2}.meta dt{font-weight:bold;float:left;width:13em;clear:left}
.meta dd{margin:0 0 .2em 13em}
.ok{color:#14531a;font-weight:bold}.bad{color:#9b1111;font-weight:bold}ol.steps{padding-left:0;
list-style:none}ol.steps>li{border-left:4px solid #5b6b8c;padding:.4em 1em;margin:.8em 0;
break-inside:avoid}ol.steps>li.received{border-left-color:#b5651d;background:#fdf6ee}
.when{color:#333}.step{font-weight:bold}.from{font-style:italic}dl.fields{margin:.3em 0}
dl.fields dt{float:left;clear:left;width:14em;color:#444}dl.fields dd{margin:0 0 .1em 14em}
.withheld{color:#555;font-style:italic}table{border-collapse:collapse;width:100%;font-size:.9em}
td,th{border-bottom:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
code{font-size:.85em}footer{margin-top:2em;font-size:.85em;color:#444}
@media print{body{margin:0;max-width:none;font-size:11pt}.meta,ol.steps>li.received{background:none}
h2{break-after:avoid}a{color:inherit;text-decoration:none}@page{margin:2cm}}"""


@cache
def words() -> dict[str, str]:
    loaded: dict[str, str] = json.loads(WORDS.read_text(encoding="utf-8"))
    return loaded


def label(name: str) -> str:
    return words().get(f"field.{name}", name.replace("_", " ").capitalize())


def step_name(event_type: str) -> str:
    return words().get(f"event.{event_type}", event_type)


def when(text: str) -> str:
    """`2025-03-03T09:00:00+00:00` as `3 March 2025, 09:00 (UTC+00:00)`."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    offset = moment.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "local time"
    return f"{moment.day} {moment:%B %Y, %H:%M} ({zone})"


def value(name: str, raw: Any) -> str:
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, list):
        return ", ".join(value(name, item) for item in raw) or "none"
    if isinstance(raw, dict):
        return "; ".join(f"{label(k)}: {value(k, v)}" for k, v in raw.items())
    if isinstance(raw, str):
        if len(raw) >= 20 and raw[4:5] == "-" and "T" in raw:
            return when(raw)
        if len(raw) == 10 and raw[4:5] == "-":
            try:
                day = date.fromisoformat(raw)
                return f"{day.day} {day:%B %Y}"
            except ValueError:
                return raw
        return words().get(f"value.{raw}", raw)
    return "" if raw is None else str(raw)


def render(document: dict[str, Any]) -> str:
    esc = html.escape
    case, agency = esc(document["case_id"]), esc(document["agency"])
    parts = [f"<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n"
             f"<title>Case {case}: the record of {agency}</title>\n<style>{STYLE}</style>",
             f"<h1>Case {case}</h1>",
             f"<p>The record of this case as <strong>{agency}</strong> keeps it: every step it "
             "recorded, and every fact its partner agency sent it, in the order they were "
             "recorded.</p>", _provenance(document), _verdict(document),
             "<h2>What happened</h2>", "<ol class=steps>"]
    parts += [_step(row, document["agency"]) for row in document["events"]]
    parts += ["</ol>", _anchors(document), _chain(document),
              "<footer>This file is signed by the agency's node: its last line holds the "
              "signature of every other line. Check it with <code>homeward audit check-export "
              "FILE</code> and the trust directory; a changed line is named.</footer>",
              "</html>"]
    return "\n".join(parts)


def _provenance(d: dict[str, Any]) -> str:
    esc = html.escape
    personal = ("Included: names and other personal data appear below." if d["personal_data"]
                else "Withheld: personal data and free text are left out and named.")
    rows = [("Exported by", d["exported_by"]), ("Exported on", when(d["exported_at"])),
            ("Purpose", d.get("purpose") or "not given"), ("Personal data", personal),
            ("Agency", d["agency"])]
    return "<dl class=meta>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(v))}</dd>"
                                       for k, v in rows) + "</dl>"


def _verdict(d: dict[str, Any]) -> str:
    esc = html.escape
    own = [a for a in d["anchors"] if a["agency"] == d["agency"]]
    partners = sorted({a["agency"] for a in d["anchors"]} - {d["agency"]})
    anchored = (f" {len(own)} checkpoint(s) {esc(d['agency'])} signed of this record match it."
                if own else "")
    if partners:
        anchored += (f" The checkpoints of {esc(', '.join(partners))} held here verify, and "
                     "each fact received carries the digest its sender signed.")
    if d["chain_intact"]:
        return (f"<p class=ok>The record is intact: every step matches its content and the "
                f"step before it.{anchored}</p>")
    items = "".join(f"<li>{esc(b)}</li>" for b in d["breaks"])
    return f"<p class=bad>The record is not intact:</p><ul class=bad>{items}</ul>"


def _step(row: dict[str, Any], agency: str) -> str:
    esc = html.escape
    received = row["message_id"] is not None
    who = (f"<span class=from>received from {esc(row['recorded_by'])}</span>" if received
           else f"recorded by {esc(row['recorded_by'])} ({esc(str(row['actor']))})")
    fields = "".join(f"<dt>{esc(label(k))}</dt><dd>{esc(value(k, v))}</dd>"
                     for k, v in row["data"].items())
    withheld = (f"<p class=withheld>Withheld in this export: "
                f"{esc(', '.join(label(f) for f in row['redacted']))}.</p>"
                if row["redacted"] else "")
    return (f"<li class={'received' if received else 'local'}><span class=when>"
            f"{esc(when(row['occurred_at']))}</span> &middot; step {row['seq']}: "
            f"<span class=step>{esc(step_name(row['type']))}</span>, {who}."
            f"<dl class=fields>{fields}</dl>{withheld}</li>")


def _anchors(d: dict[str, Any]) -> str:
    esc = html.escape
    if not d["anchors"]:
        return "<h2>Anchors</h2><p>No checkpoint of this case is held.</p>"
    rows = "".join(
        f"<tr><td>{esc(a['agency'])}</td><td>{a['version']}</td><td>{esc(when(a['at']))}</td>"
        f"<td>{_carried(a)}</td><td><code>{esc(a['hash'][:16])}"
        f"</code>&hellip;</td></tr>" for a in d["anchors"])
    return ("<h2>Anchors</h2><p>At every message it sent, and at every fact it recorded from "
            "its partner, each agency signed the state of its own record of the case (its step "
            "number and hash). Both agencies keep the checkpoints that travel with messages and "
            "receipts; a record cut short or rewritten afterwards no longer matches them.</p>"
            "<table><tr><th>signed by</th><th>its record at step</th><th>that step recorded on"
            f"</th><th>sent with</th><th>hash</th></tr>{rows}</table>")


def _carried(anchor: dict[str, Any]) -> str:
    if not anchor["message"]:
        return ""
    if anchor.get("receipt"):
        return f"its receipt of message {anchor['message']}"
    return f"its message {anchor['message']}"


def _chain(d: dict[str, Any]) -> str:
    esc = html.escape
    def short(digest: str | None) -> str:
        return f"<code>{esc(digest[:16])}</code>&hellip;" if digest else ""

    rows = "".join(
        f"<tr><td>{r['seq']}</td><td>{esc(step_name(r['type']))}</td><td>{short(r['hash'])}"
        f"</td><td>{short(r['prev_hash'])}</td><td>{short(r['sender_hash'])}</td></tr>"
        for r in d["events"])
    return ("<h2>The chain</h2><p>Each step's hash covers its content and the hash of the step "
            "before it; a fact received from the partner also keeps the digest its sender "
            "signed.</p><table><tr><th>step</th><th>name</th><th>hash</th><th>previous</th>"
            f"<th>sender's digest</th></tr>{rows}</table>")
