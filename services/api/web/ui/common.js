"use strict";
// Shared by the pages: the language, the token, the API, and building elements from data
// as text only.
const TOKEN_KEY = "homeward-token";
const SIGNED_OUT = "homeward-signed-out";  // set on signing out: do not sign in again by itself
const ID_TOKEN_KEY = "homeward-id-token";  // single sign-on: the provider's hint on signing out
const WHO_KEY = "homeward-who";  // single sign-on: who the node found the token to be
// "oidc": the node signs in through the agency's provider; "token": a token is pasted.
const SINGLE_SIGN_ON = document.body.dataset.signin === "oidc";
const REFRESH_MS = 10000;
const STATUSES = document.body.dataset.statuses.split(" ");
const LANG = document.documentElement.lang;
const $ = (id) => document.getElementById(id);
let STRINGS = {};

// The page's words, from this node's file for the language (the same the server used).
async function loadStrings() {
  const response = await fetch(`/ui/i18n/${encodeURIComponent(LANG)}.json`,
    {credentials: "omit", cache: "no-cache"});
  STRINGS = await response.json();
}

// t("case.version", {n: 3}): the text for a key, with {name} filled in (as text).
function t(key, vars) {
  const text = Object.prototype.hasOwnProperty.call(STRINGS, key) ? STRINGS[key] : null;
  if (text === null) return null;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : ""));
}
function tr(key, fallback, vars) { return t(key, vars) ?? fallback; }
// A clock's name (events/deadlines.py) in the page's language: a fixed one by its key, one
// that carries a value by the key of the template it was made from ("clock.renew the {kind}"),
// the value filled in: a kind by its word, a month as the language writes numbers, a
// proceeding's reference as it is.
let clockTemplates = null, clockTemplatesOf = null;  // [key, its parts, its pattern], of STRINGS
function clockName(name) {
  const fixed = t("clock." + name);
  if (fixed !== null) return fixed;
  if (clockTemplatesOf !== STRINGS) {  // made once for the page's words
    clockTemplatesOf = STRINGS;
    clockTemplates = Object.keys(STRINGS)
      .filter((key) => key.startsWith("clock.") && key.includes("{"))
      .map((key) => {
        const parts = key.slice("clock.".length).split(/\{(\w+)\}/);  // text, name, text, ...
        const pattern = parts.map((part, i) => (i % 2 ? "(.+)" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
        return [key, parts, new RegExp("^" + pattern.join("") + "$")];
      });
  }
  for (const [key, parts, pattern] of clockTemplates) {
    const found = pattern.exec(name);
    if (found === null) continue;
    const vars = {};
    parts.forEach((part, i) => { if (i % 2) vars[part] = clockValue(part, found[(i + 1) / 2]); });
    return t(key, vars);
  }
  return label(name);
}
function clockValue(name, value) {
  if (name === "kind") return valueName(value.replaceAll(" ", "_"));
  if (name === "month") return number(Number(value));
  return value;
}
// An open legal matter (events/progress.py `legal_items`) in the page's language: the template
// "legal.<kind>" for the values the item has ("legal.proceeding.stage.hearing"), each value
// by its word, a day as the language writes it, the days left as the language counts them, a
// proceeding's reference as it is. `english`, the server's sentence, for a kind unknown here.
function legalMatter(item, english) {
  const key = "legal." + item.kind + (item.kind === "proceeding"
    ? (item.stage ? ".stage" : "") + (item.next_hearing_on ? ".hearing" : "")
    : item.kind === "protection_measure"
      ? (item.days_left === null || item.days_left === undefined ? "" : item.days_left < 0 ? ".ended" : ".left")
      : item.kind === "penalty_matter" && item.linked_to_exploitation ? ".linked" : "");
  const words = (value) => (value ? valueName(value) : "");
  const days = (iso) => (iso ? day(iso) : "");
  return tr(key, english ?? label(item.kind), {
    reference: item.reference ?? "", role: words(item.role), stage: words(item.stage),
    hearing: days(item.next_hearing_on), since: days(item.since), measure: words(item.measure),
    until: days(item.valid_until), matter: words(item.matter),
    in: typeof item.days_left === "number"
      ? new Intl.RelativeTimeFormat(LANG, {numeric: "always"}).format(item.days_left, "day") : ""});
}
// The same words as nodes, each value isolated in a <bdi> that does not wrap: a name or
// an agency code (XA-NRM) keeps its own direction and stays on one line in any language.
function tIsolated(key, vars) {
  const text = t(key, vars && Object.fromEntries(Object.keys(vars).map((k) => [k, `{${k}}`])));
  const out = document.createDocumentFragment();
  for (const part of (text ?? "").split(/(\{\w+\})/)) {
    const name = part.startsWith("{") ? part.slice(1, -1) : null;
    out.append(name !== null && vars && name in vars
      ? el("bdi", {class: "value", text: String(vars[name])}) : part);
  }
  return out;
}

// Every value from the API goes into the page as a Text node or a property, never as markup.
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// SVG drawn by the page, from data, as elements and attributes only. The namespace is a
// name, not an address: nothing is fetched from it.
const SVG_NS = ["http:", "", "www.w3.org", "2000", "svg"].join("/");
function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function label(value) { return String(value).replaceAll("_", " ").replaceAll("-", " "); }
function statusName(status) { return tr("status." + status, label(status)); }
function fieldName(name) { return tr("field." + name, label(name)); }
function valueName(value) { return tr("value." + value, label(value)); }
function stepName(path) { return tr("step." + path, label(path)); }
function statusClass(status) { return "s-" + (STATUSES.includes(status) ? status : "unknown"); }
// A blocking item in the page's language: a short phrase per rule code (the next step, for
// `sequence`, by the case's status); the server's English detail only for a code unknown here.
function need(item, status) {
  if (item.rule === "sequence") return tr("need.sequence." + status, t("need.sequence"));
  return tr("need." + item.rule, item.detail);
}
// A day (YYYY-MM-DD) as the language writes it; a day is not shifted by the browser's zone.
function day(iso) {
  return new Intl.DateTimeFormat(LANG, {dateStyle: "medium", timeZone: "UTC"})
    .format(new Date(iso + "T00:00:00Z"));
}
function pill(status) { return el("span", {class: "pill " + statusClass(status), text: statusName(status)}); }
function short(id) { return String(id).slice(0, 8); }
function number(n, digits) {
  return new Intl.NumberFormat(LANG, {maximumFractionDigits: digits ?? 1}).format(n);
}

function when(iso, style) {
  if (!iso) return "—";
  const options = style === "short" ? {dateStyle: "short", timeStyle: "short"}
    : style === "date" ? {dateStyle: "medium"} : {dateStyle: "medium", timeStyle: "short"};
  return new Intl.DateTimeFormat(LANG, options).format(new Date(iso));
}

function duration(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  if (d) return t("duration.dh", {d: number(d), h: number(h)});
  if (h) return t("duration.hm", {h: number(h), m: number(m)});
  return t("duration.m", {m: number(m)});
}

// A token in the address (#token=...) is taken out of the address bar (and its history) at
// once. Anyone can send a link with their own token in it, so it is only an offer: the page
// asks whether to sign in as the identity it names, and uses it only on a yes.
function tokenOffered() {
  const fragment = location.hash;
  if (!fragment.startsWith("#token=")) return null;
  history.replaceState(null, "", location.pathname + location.search);
  if (SINGLE_SIGN_ON) return null;  // tokens come from the provider only
  let token = null;
  try { token = decodeURIComponent(fragment.slice(7).split("&")[0]); } catch (_) { return null; }
  const said = claimsOf(token);
  if (typeof said.sub !== "string" || typeof said.agency !== "string") return null;
  return {token, who: said.sub, agency: said.agency};
}

// What a token claims: only to choose what to offer and to say who is signed in; the API
// decides.
function claimsOf(token) {
  try {
    const said = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return said && typeof said === "object" ? said : {};
  } catch (_) { return {}; }
}
// With single sign-on, who the node found the token to be: an opaque token says nothing,
// and a provider's roles may be elsewhere in it or named otherwise.
function claims() {
  try {
    if (SINGLE_SIGN_ON && sessionStorage.getItem(WHO_KEY)) {
      return JSON.parse(sessionStorage.getItem(WHO_KEY)) || {};
    }
  } catch (_) { return {}; }
  return claimsOf(sessionStorage.getItem(TOKEN_KEY) || "");
}
function roles() {
  const said = claims().roles;
  return Array.isArray(said) ? said : [];
}

class Refused extends Error {}

// A refusal or error from the API, with its problem+json body.
class Problem extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || String(status));
    this.status = status;
    this.body = body || {};
  }
}

// Overdue durations count from the node's clock (its Date header), not this computer's.
let skew = 0;
function nodeNow() { return Date.now() + skew; }

async function api(path, headers, method, payload) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const init = {
    method: method || "GET",
    headers: {Accept: "application/json", Authorization: "Bearer " + token, ...(headers || {})},
    cache: "no-store", credentials: "omit",
  };
  if (payload !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(payload);
  }
  const response = await fetch(path, init);
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) skew = date - Date.now();
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  // A read refused for the token signs out; a refused step is the form's to show.
  if (response.status === 401 || (response.status === 403 && init.method === "GET")) {
    throw new Refused((body && body.detail) || response.statusText);
  }
  if (!response.ok) throw new Problem(response.status, body);
  return body;
}

// Ask for the token once per tab; then refresh every REFRESH_MS until it is refused.
function start(refresh) {
  let offered = tokenOffered();
  let timer = null;
  const run = async () => {
    try {
      await refresh();
      $("error").hidden = true;
      $("updated").textContent = t("updated", {time: new Intl.DateTimeFormat(LANG,
        {timeStyle: "short"}).format(new Date())});
    } catch (error) {
      if (error instanceof Refused) return signIn(t("signin.refused", {reason: error.message}));
      $("error").textContent = t("refresh.failed", {reason: error.message});
      $("error").hidden = false;
    }
  };
  const show = () => {
    $("signin").hidden = true;
    $("main").hidden = false;
    $("forget").hidden = false;
    const sub = claims().sub;
    $("who").textContent = typeof sub === "string" ? t("signin.as", {who: sub}) : "";
    $("who").hidden = typeof sub !== "string";
    run();
    if (timer === null) timer = setInterval(run, REFRESH_MS);
  };
  // With single sign-on: the provider's sign-in, back to this very page.
  const provider = "/ui/signin?next=" + encodeURIComponent(location.pathname + location.search);
  const signIn = (message) => {
    clearInterval(timer);
    timer = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $("main").hidden = true;
    $("forget").hidden = true;
    $("who").hidden = true;
    $("updated").textContent = "";
    $("signin-error").textContent = message || "";
    $("signin").hidden = false;
    if (SINGLE_SIGN_ON) $("signin-provider").focus(); else $("token").focus();
  };
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    if (SINGLE_SIGN_ON) return;
    const token = $("token").value.trim();
    $("token").value = "";
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    show();
  });
  if (SINGLE_SIGN_ON) $("signin-provider").setAttribute("href", provider);
  $("forget").addEventListener("click", () => {
    if (!SINGLE_SIGN_ON) return signIn("");
    const out = new URLSearchParams({next: location.pathname + location.search});
    const hint = sessionStorage.getItem(ID_TOKEN_KEY);
    if (hint) out.set("id_token_hint", hint);
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(ID_TOKEN_KEY);
    sessionStorage.removeItem(WHO_KEY);
    sessionStorage.setItem(SIGNED_OUT, "1");
    location.assign("/ui/signout?" + out.toString());
  });
  const resume = () => {
    if (sessionStorage.getItem(TOKEN_KEY)) show();
    // Sent to the provider at once, unless this tab has just signed out.
    else if (SINGLE_SIGN_ON && !sessionStorage.getItem(SIGNED_OUT)) location.assign(provider);
    else signIn(sessionStorage.getItem(SIGNED_OUT) ? t("signin.signed-out") : "");
  };
  // A token from a link: nothing is shown or asked with it until the reader says yes.
  const ask = () => {
    clearInterval(timer);
    timer = null;
    for (const id of ["main", "signin", "forget", "who"]) $(id).hidden = true;
    $("offered-who").replaceChildren(tIsolated("signin.offered.question",
      {who: offered.who, agency: offered.agency}));
    $("offered").hidden = false;
    $("offered-accept").focus();
  };
  $("offered").addEventListener("submit", (event) => {
    event.preventDefault();
    if (offered === null) return;
    sessionStorage.setItem(TOKEN_KEY, offered.token);
    offered = null;
    $("offered").hidden = true;
    show();
  });
  $("offered-decline").addEventListener("click", () => {
    offered = null;
    $("offered").hidden = true;
    resume();
  });
  // A link followed from this very page changes only the fragment: the same question.
  window.addEventListener("hashchange", () => {
    const found = tokenOffered();
    if (found === null) return;
    offered = found;
    ask();
  });
  loadStrings().finally(() => (offered !== null ? ask() : resume()));
  return run;
}
