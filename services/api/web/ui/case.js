// A case: its status and what it waits on, both agencies' timeline, and a form for each
// step the caller may record now, posted with If-Match: the version the forms opened on.
const CASE_ID = decodeURIComponent(location.pathname.split("/").pop());
const PATHS = {case: "/v1/cases/{id}", timeline: "/v1/cases/{id}/timeline",
  open: "/v1/cases/{id}/steps", forms: "/v1/steps", verify: "/v1/audit/verify",
  assignment: "/v1/cases/{id}/assignment", request: "/v1/cases/{id}/approval-requests",
  crossCheck: "/v1/audit/cross-check?case={id}"};
const PURPOSE = {"X-Purpose": "case page"};
const PHASES = ["opening", "referral", "preparation", "journey", "home", "justice", "closure",
  "notes"];
const opened = {version: null, steps: null, token: null};  // what the forms were built on, for whom
let catalogue = null;
let current = null;
let timelineCache = null;  // what an auditor exports

function path(template) { return template.replace("{id}", encodeURIComponent(CASE_ID)); }
function dd(term, ...value) { return [el("dt", {text: term}), el("dd", null, ...value)]; }

function renderSummary(c) {
  $("case-id").textContent = c.id;
  $("summary").replaceChildren(
    ...dd(t("case.status"), pill(c.status), c.on_hold ? el("span", {class: "flag", text: " " + t("case.on-hold")}) : null),
    ...dd(t("case.kind"), valueName(c.kind)),
    ...dd(t("case.agencies"), t("case.between", {referring: c.referring, receiving: c.receiving})),
    ...dd(t("case.side"), valueName(c.side)),
    ...dd(t("case.minor"), c.minor ? t("form.yes") : t("form.no")),
    ...dd(t("case.consent"), c.consent.length ? c.consent.map(valueName).join(", ") : "—"),
    ...dd(t("case.assigned-to"), el("span", {id: "assignee", text: c.assigned_to || t("board.unassigned")}),
      !c.assigned_to && writer() ? el("button", {id: "take", type: "button", text: t("case.take"), onclick: take}) : null),
    ...dd(t("case.version"), number(c.version)));
}

function writer() { return roles().some((r) => r === "caseworker" || r === "supervisor"); }

// A caseworker takes an unassigned case for themselves.
async function take() {
  try {
    await api(path(PATHS.assignment), {"Idempotency-Key": crypto.randomUUID()}, "POST",
      {assigned_to: claims().sub});
    await refresh();
  } catch (error) {
    if (error instanceof Refused) throw error;
    $("notice").textContent = (error.body && error.body.detail) || error.message;
  }
}

function renderBlocking(c, now) {
  // What is needed in the page's language, then the rule it comes from in plain words.
  const items = c.blocking.map((b) => el("li", {"data-rule": b.rule},
    el("strong", {text: b.owed_by}), " · ", el("span", {class: "need", text: need(b, c.status)}),
    el("div", {class: "muted", text: tr("rule." + b.rule, b.rule)})));
  const late = c.overdue.map((k) => el("li", {class: "late-text"},
    el("strong", {text: k.owed_by}), " · ",
    t("case.overdue", {clock: clockName(k.name), by: duration(now - Date.parse(k.due_at))})));
  $("blocking").replaceChildren(items.length || late.length
    ? el("ul", {class: "blocking"}, ...late, ...items)
    : el("p", {class: "empty", text: t("case.nothing-blocking")}));
}

// The refusal beside the form: the rule in plain words, whom it waits on, the server's detail.
function owedBy(rule) {
  if (rule === "step-owner") return current.partner;
  const owed = current.blocking.filter((b) => b.rule === rule).map((b) => b.owed_by);
  return owed.length ? [...new Set(owed)].join(", ") : (current.side === "referring" ? current.referring : current.receiving);
}

function showProblem(box, form, error) {
  const body = error.body || {};
  box.replaceChildren();
  box.hidden = false;
  if (body.rule) {
    box.append(el("h4", {text: t("refusal.title")}),
      el("p", {class: "explanation", text: tr("rule." + body.rule, body.rule)}),
      el("p", null, el("strong", {text: t("refusal.waits-on") + " "}), el("span", {class: "owed-by", text: owedBy(body.rule)})),
      el("p", {class: "muted"}, el("span", {class: "mono", text: body.rule}), " · " + (body.detail || "")));
  } else if (error.status === 412 || error.status === 409) {
    box.append(el("h4", {text: t("conflict.title")}),
      el("p", {text: t("conflict.text", {version: number(opened.version)})}),
      el("button", {type: "button", text: t("conflict.reload"),
        onclick: () => { opened.version = null; refresh(); }}));
  } else {
    box.append(el("h4", {text: t("problem.title")}), el("p", {text: body.detail || error.message}));
    showFieldErrors(form, body.errors);
  }
  box.focus();
}

async function record(step, body, form, box) {
  box.hidden = true;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const key = idempotencyKey(form, body);
  try {
    await api(path(PATHS.case) + "/" + step,
      {"If-Match": `"${opened.version}"`, "Idempotency-Key": key}, "POST", body);
    delete form.dataset.pendingBody;
    opened.version = null;  // the forms are built again on the new version
    await refresh();
    $("notice").textContent = t("recorded", {step: stepName(step)});
  } catch (error) {
    if (error instanceof Refused) throw error;
    if (error instanceof Problem) delete form.dataset.pendingBody;  // answered: a new try
    showProblem(box, form, error);
  } finally {
    button.disabled = false;
  }
}

// Asks a supervisor for a step (four eyes): the step's body and why.
async function requestApproval(step, body, form, box) {
  box.hidden = true;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await api(path(PATHS.request), {"Idempotency-Key": idempotencyKey(form, body)}, "POST",
      {step, body, reason: form.querySelector("textarea.reason").value});
    delete form.dataset.pendingBody;
    opened.version = null;
    await refresh();
    $("notice").textContent = t("request.sent", {step: stepName(step)});
  } catch (error) {
    if (error instanceof Refused) throw error;
    if (error instanceof Problem) delete form.dataset.pendingBody;
    showProblem(box, form, error);
  } finally {
    button.disabled = false;
  }
}

function requestForm(form) {
  const box = el("div", {class: "refusal", role: "alert", tabindex: "-1", hidden: ""});
  const built = schemaForm("a-" + form.path, form.body, t("form.request", {step: stepName(form.path)}),
    (body, node) => requestApproval(form.path, body, node, box));
  const id = "a-" + form.path + "--why";
  built.prepend(box, el("div", {class: "field"}, el("label", {for: id, text: t("form.reason")}),
    el("textarea", {id, class: "reason", required: "", maxlength: "4000"})));
  built.classList.add("request");
  return built;
}

// A step's form; beside it, for a caseworker, the request to a supervisor where one decides.
function stepForm(form, open, record_, ask) {
  const box = el("div", {class: "refusal", role: "alert", tabindex: "-1", hidden: ""});
  const parts = [];
  if (record_) {
    const built = schemaForm("f-" + form.path, form.body, t("form.record", {step: stepName(form.path)}),
      (body, node) => record(form.path, body, node, box));
    built.prepend(box);
    parts.push(built);
  }
  if (ask) parts.push(requestForm(form));
  const attrs = {class: "step", "data-step": form.path};
  if (open) attrs.open = "";
  return el("details", attrs,
    el("summary", null, stepName(form.path),
      form.supervisor_only ? el("span", {class: "badge", text: " " + t("form.supervisor")}) : null),
    el("div", {class: "step-body"}, ...parts));
}

// What the case asks of this agency first, open; the rest by phase, closed.
function stepForms(forms, open) {
  const mine = (f) => stepForm(f, open.next.includes(f.path), open.steps.includes(f.path),
    open.ask.includes(f.path));
  const ahead = open.next.map((p) => forms.find((f) => f.path === p)).filter(Boolean);
  const out = [];
  if (ahead.length) {
    out.push(el("section", {class: "next", "aria-labelledby": "next-title"},
      el("h3", {id: "next-title", text: t("case.next")}), ...ahead.map(mine)));
  }
  for (const phase of PHASES) {
    const here = forms.filter((f) => f.phase === phase && !open.next.includes(f.path));
    if (!here.length) continue;
    out.push(el("details", {class: "phase", "data-phase": phase},
      el("summary", {class: "phase-name", text: tr("phase." + phase, phase)}), ...here.map(mine)));
  }
  return out;
}

// Built once per version the caller acts on; a refresh never wipes what is being typed.
async function rebuildForms() {
  const token = sessionStorage.getItem(TOKEN_KEY);  // another sign-in builds them again
  const open = await api(path(PATHS.open), PURPOSE);
  catalogue = catalogue || await api(PATHS.forms);
  opened.version = open.version;
  opened.steps = open.steps;
  opened.token = token;
  const auditor = roles().includes("auditor") && !roles().some((r) => r === "caseworker" || r === "supervisor");
  $("audit-tools").hidden = !auditor;
  $("steps-section").hidden = auditor;
  const forms = catalogue.steps.filter((s) => open.steps.includes(s.path) || open.ask.includes(s.path));
  $("forms").replaceChildren(...(forms.length ? stepForms(forms, open)
    : [el("p", {class: "empty", text: t("case.no-steps")})]));
  $("forms-version").textContent = t("case.forms-version", {version: number(open.version)});
}

async function refresh() {
  const [c, timeline] = await Promise.all([api(path(PATHS.case), PURPOSE),
    api(path(PATHS.timeline), PURPOSE)]);
  current = c;
  renderSummary(c);
  showTransfer(c);
  renderBlocking(c, nodeNow());
  $("lanes").replaceChildren(lanes(timeline.events, c, c.side === "referring" ? c.referring : c.receiving));
  if (opened.version === null || opened.token !== sessionStorage.getItem(TOKEN_KEY)) {
    await rebuildForms();
  }
  $("stale").hidden = c.version === opened.version;
  timelineCache = timeline;
  await refreshCaseFiles($("steps-section").hidden);  // notes and documents: not an auditor's
}

async function verify() {
  try {
    const result = await api(PATHS.verify);
    $("verify-result").textContent = result.ok
      ? t("audit.verified", {cases: number(result.cases), events: number(result.events)})
      : t("audit.broken", {breaks: number(result.breaks.length)});
  } catch (error) {
    $("verify-result").textContent = t("refresh.failed", {reason: error.message});
  }
}

// This case compared with the partner's node: both agencies' records, and where they part.
async function crossCheck() {
  try {
    const result = await api(path(PATHS.crossCheck));
    const first = result.first;
    $("cross-check-result").textContent = result.ok
      ? t("audit.agree", {partner: result.partner})
      : t("audit.diverge", {agency: first.agency, where: first.where, kind: first.kind,
        detail: first.detail});
  } catch (error) {
    $("cross-check-result").textContent = t("refresh.failed", {reason: error.message});
  }
}

// The timeline as this auditor read it, as a JSON file made in the page.
function exportTimeline() {
  const blob = new Blob([JSON.stringify(timelineCache, null, 2)], {type: "application/json"});
  const link = el("a", {href: URL.createObjectURL(blob), download: `case-${CASE_ID}.json`});
  document.body.append(link);
  link.click();
  link.remove();
}

start(refresh);
$("stale-reload").addEventListener("click", () => { opened.version = null; refresh(); });
$("verify").addEventListener("click", verify);
$("export").addEventListener("click", exportTimeline);
$("cross-check").addEventListener("click", crossCheck);
