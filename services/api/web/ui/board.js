// The status board: hand-offs, cases, and a case's timeline; all from the node's API.
const PATHS = {cases: "/v1/cases", handoffs: "/v1/handoffs", timeline: "/v1/cases/{id}/timeline",
  approvals: "/v1/approvals", decision: "/v1/approvals/{id}/decision"};
const PAGE = 50;  // cases a page; the node finds the page, so it costs the same on any page
const HANDOFFS = 200;
const shown = {id: null, version: null};  // the case whose timeline is open
const paging = {offset: 0};

function td(...children) { return el("td", null, ...children); }
function nothing(text) { return el("span", {class: "muted", text: text || "—"}); }

// A departure recorded for a later time has not happened yet: say so rather than count.
function elapsed(since, now) {
  return since > now ? nothing(t("board.departs-in", {d: duration(since - now)})) : duration(now - since);
}

function handoffRow(h, now) {
  const late = h.overdue;
  const state = late && h.confirm_by
    ? el("span", {class: "late-text", text: t("board.overdue-by", {d: duration(now - Date.parse(h.confirm_by))})})
    : late ? el("span", {class: "late-text", text: t("board.overdue")})
      : h.confirm_by ? el("span", {text: t("board.due-in", {d: duration(Date.parse(h.confirm_by) - now)})})
        : nothing();
  return el("tr", {class: late ? "late" : "", onclick: () => openTimeline(h.id, null)},
    td(el("button", {class: "case", type: "button", title: h.id, text: short(h.id)})),
    td(h.partner), td(when(h.departed_at)), td(elapsed(Date.parse(h.departed_at), now)),
    td(when(h.expected_arrival)), td(when(h.confirm_by)), td(h.owed_by), td(state));
}

function renderHandoffs(page) {
  const now = nodeNow();
  // Overdue arrivals first, then the longest in transit.
  const items = [...page.items].sort((a, b) => (b.overdue - a.overdue)
    || (Date.parse(a.departed_at) - Date.parse(b.departed_at)));
  $("handoffs").tBodies[0].replaceChildren(...items.map((h) => handoffRow(h, now)));
  $("handoffs").hidden = items.length === 0;
  $("no-handoffs").hidden = items.length !== 0;
  const late = items.filter((h) => h.overdue).length;
  $("handoff-count").textContent = t("board.in-transit", {n: number(page.total)})
    + (late ? t("board.overdue-count", {n: number(late)}) : "");
}

function waitingOn(c) {
  if (!c.blocking.length) return nothing(t("board.nothing"));
  const byAgency = new Map();
  for (const item of c.blocking) {
    if (!byAgency.has(item.owed_by)) byAgency.set(item.owed_by, []);
    byAgency.get(item.owed_by).push(item);
  }
  return el("div", {class: "waiting"}, ...[...byAgency].map(([agency, items]) =>
    el("div", {class: "agency"}, el("strong", {text: agency}),
      el("ul", null, ...items.map((b) => el("li", {title: tr("rule." + b.rule, b.rule),
        "data-rule": b.rule, text: need(b, c.status)}))))));
}

// The reflection period's end, while it runs, then each overdue clock.
function clocks(c, now) {
  const items = c.overdue.map((k) =>
    el("li", {class: "late-text", title: t("board.due", {when: when(k.due_at)})},
      el("strong", {text: clockName(k.name)}),
      t("board.clock-overdue", {d: duration(now - Date.parse(k.due_at))}),
      el("span", {class: "muted owed", text: ` · ${k.owed_by}`})));
  if (c.reflection_period_ends) {
    const ends = Date.parse(c.reflection_period_ends + "T00:00:00Z");
    items.unshift(el("li", {class: "reflection"}, t("board.reflection", {when: day(c.reflection_period_ends)}),
      ends > now ? el("span", {class: "muted", text: t("board.reflection-left", {d: duration(ends - now)})}) : null));
  }
  return items.length ? el("ul", {class: "clocks"}, ...items) : nothing();
}

// Each open legal matter in the page's language, from its values; the server's English
// sentences as they are from a node that does not send the values (`legal_items`).
function legalMatters(c) {
  const matters = c.legal_matters, items = c.legal_items;
  if (!matters.length) return nothing();
  const texts = Array.isArray(items) && items.length === matters.length
    ? items.map((item, i) => legalMatter(item, matters[i])) : matters;
  return el("ul", {class: "legal"}, ...texts.map((m) => el("li", {dir: "auto", text: m})));
}

// An urgent case says so in words, and its row is marked at its start edge too.
function caseRow(c, now) {
  const classes = [c.overdue.length ? "late" : "", c.urgent ? "urgent" : "", c.id === shown.id ? "selected" : ""];
  return el("tr", {class: classes.join(" ").trim(), "data-id": c.id,
    onclick: () => openTimeline(c.id, c.version)},
    td(el("button", {class: "case", type: "button", title: c.id, text: short(c.id)}),
      c.urgent ? el("div", null, el("span", {class: "urgent-badge", text: t("board.urgent")})) : null),
    td(pill(c.status)), td(c.partner, el("div", {class: "muted", text: t("board.we-are", {side: valueName(c.side)})})),
    td(valueName(c.kind)), td(waitingOn(c)),
    td(c.assigned_to ? el("span", {class: "assignee", text: c.assigned_to}) : nothing(t("board.unassigned"))),
    td(legalMatters(c)), td(clocks(c, now)),
    td(when(c.updated_at)));
}

// In the API's order: urgent cases first, then the most recently changed.
function renderCases(board) {
  const now = nodeNow();
  $("cases").tBodies[0].replaceChildren(...board.items.map((c) => caseRow(c, now)));
  $("cases").hidden = board.items.length === 0;
  $("no-cases").hidden = board.items.length !== 0;
  const more = board.total > board.items.length ? t("board.showing", {n: number(board.items.length)}) : "";
  $("case-count").textContent = number(board.total) + more;
  $("pager").hidden = board.total <= PAGE && paging.offset === 0;
  $("page-of").textContent = t("board.page", {from: number(Math.min(board.offset + 1, board.total)),
    to: number(board.offset + board.items.length), n: number(board.total)});
  $("previous").disabled = board.offset === 0;
  $("next").disabled = board.offset + board.items.length >= board.total;
  // Messages the partner has not receipted in time: the relay keeps sending them.
  $("undelivered").hidden = !board.undelivered;
  $("undelivered").textContent = board.undelivered ? t("board.undelivered", {n: number(board.undelivered)}) : "";
  const open = board.items.find((c) => c.id === shown.id);
  // A new step on the open case: read its timeline again (each read is in the access log).
  if (open && shown.version === null) shown.version = open.version;
  else if (open && open.version !== shown.version) openTimeline(open.id, open.version);
}

// "ReferralAcknowledged" as "Referral acknowledged".
function sentence(type) {
  const words = String(type).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function timelineRow(e) {
  const received = e.message_id
    ? el("span", {class: "received", title: t("board.from-partner-title", {id: e.message_id}),
      text: t("board.from-partner")})
    : null;
  const time = when(e.occurred_at, "short");
  return el("tr", null, td(String(e.seq)), el("td", {class: "nowrap", title: e.occurred_at, text: time}),
    td(tr("event." + e.type, sentence(e.type))), td(e.recorded_by), td(received),
    td(el("span", {class: "mono", title: e.hash, text: e.hash.slice(0, 12)})));
}

async function openTimeline(id, version) {
  if (shown.id !== id) $("timeline").querySelector("tbody").replaceChildren();
  shown.id = id;
  shown.version = version;
  $("timeline").hidden = false;
  $("timeline-case").textContent = id;
  $("case-link").href = "/ui/cases/" + encodeURIComponent(id);
  for (const row of $("cases").tBodies[0].rows) row.classList.toggle("selected", row.dataset.id === id);
  try {
    const timeline = await api(PATHS.timeline.replace("{id}", encodeURIComponent(id)),
      {"X-Purpose": "status board: case timeline"});
    if (shown.id !== id) return;
    $("timeline").querySelector("tbody").replaceChildren(...timeline.events.map(timelineRow));
    $("timeline-error").hidden = true;
  } catch (error) {
    $("timeline-error").textContent = t("board.timeline-failed", {reason: error.message});
    $("timeline-error").hidden = false;
  }
}

function closeTimeline() {
  shown.id = null;
  shown.version = null;
  $("timeline").hidden = true;
  for (const row of $("cases").tBodies[0].rows) row.classList.remove("selected");
}

function filters(withStatus) {
  const query = new URLSearchParams({limit: String(withStatus ? PAGE : HANDOFFS)});
  if (withStatus) query.set("offset", String(paging.offset));
  if (withStatus && $("status").value) query.set("status", $("status").value);
  if ($("overdue").value) query.set("overdue", $("overdue").value);
  if (withStatus && $("mine").checked) query.set("assigned_to", "me");
  return query;
}

// The requests awaiting a supervisor's decision (four eyes: never one's own).
function approvalRow(a) {
  const note = el("input", {type: "text", maxlength: "4000", "aria-label": t("approval.note"),
    placeholder: t("approval.note")});
  const decide = (decision) => async () => {
    try {
      await api(PATHS.decision.replace("{id}", encodeURIComponent(a.id)),
        {"Idempotency-Key": crypto.randomUUID()}, "POST",
        note.value ? {decision, note: note.value} : {decision});
      $("approval-notice").textContent = t("approval.decided", {step: stepName(a.step)});
    } catch (error) {
      if (error instanceof Refused) throw error;
      const body = error.body || {};
      $("approval-notice").textContent = body.rule
        ? tr("rule." + body.rule, body.rule) + " (" + (body.detail || "") + ")"
        : (body.detail || error.message);
    }
    reload();
  };
  return el("tr", {"data-request": a.id, "data-step": a.step},
    td(el("a", {class: "case mono", href: "/ui/cases/" + encodeURIComponent(a.case_id),
      title: a.case_id, text: short(a.case_id)})),
    td(stepName(a.step), asked(a)), td(a.requested_by), td(when(a.requested_at)),
    td(el("div", {class: "decision"}, note,
      el("button", {type: "button", class: "approve", text: t("approval.approve"), onclick: decide("approved")}),
      el("button", {type: "button", class: "reject", text: t("approval.reject"), onclick: decide("rejected")}))));
}

// What the request asks for and why, as the requester wrote it.
function asked(a) {
  const fields = Object.entries(a.body || {}).map(([k, v]) =>
    el("li", {dir: "auto", text: `${fieldName(k)}: ${Array.isArray(v) ? v.map(valueName).join(", ")
      : typeof v === "string" ? valueName(v) : String(v)}`}));
  return el("div", {class: "asked"}, a.reason ? el("p", {class: "reason", dir: "auto", text: a.reason}) : null,
    fields.length ? el("ul", {class: "muted"}, ...fields) : null);
}

function renderApprovals(page) {
  $("approvals-section").hidden = false;
  $("approvals").tBodies[0].replaceChildren(...page.items.map(approvalRow));
  $("approvals").hidden = page.items.length === 0;
  $("no-approvals").hidden = page.items.length !== 0;
  $("approval-count").textContent = number(page.total);
}

async function refresh() {
  const supervisor = roles().includes("supervisor");
  const [handoffs, board, approvals] = await Promise.all([
    api(PATHS.handoffs + "?" + filters(false)), api(PATHS.cases + "?" + filters(true)),
    supervisor ? api(PATHS.approvals + "?status=pending", {"X-Purpose": "approvals queue"}) : null]);
  renderHandoffs(handoffs);
  if (approvals) renderApprovals(approvals);
  else $("approvals-section").hidden = true;
  if (board.offset > 0 && board.items.length === 0) {  // the last page emptied meanwhile
    paging.offset = Math.max(0, board.total - PAGE);
    return refresh();
  }
  renderCases(board);
}

const reload = start(refresh);
function turn(by) { paging.offset = Math.max(0, paging.offset + by); reload(); }
function refilter() { paging.offset = 0; reload(); }
$("status").addEventListener("change", refilter);
$("overdue").addEventListener("change", refilter);
$("mine").addEventListener("change", refilter);
$("previous").addEventListener("click", () => turn(-PAGE));
$("next").addEventListener("click", () => turn(PAGE));
$("close").addEventListener("click", closeTimeline);
document.addEventListener("keydown", (event) => { if (event.key === "Escape") closeTimeline(); });
