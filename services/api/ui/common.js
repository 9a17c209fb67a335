"use strict";
// Shared by the pages: the token, the API, and building elements from data as text only.
const TOKEN_KEY = "homeward-token";
const REFRESH_MS = 10000;
const STATUSES = document.body.dataset.statuses.split(" ");
const $ = (id) => document.getElementById(id);

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

function label(value) { return String(value).replaceAll("_", " ").replaceAll("-", " "); }
function statusClass(status) { return "s-" + (STATUSES.includes(status) ? status : "unknown"); }
function pill(status) { return el("span", {class: "pill " + statusClass(status), text: label(status)}); }
function short(id) { return String(id).slice(0, 8); }

function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(undefined, {dateStyle: "medium", timeStyle: "short"});
}

function duration(ms) {
  const minutes = Math.floor(Math.abs(ms) / 60000);
  const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return `${m}m`;
}

// A token pasted as #token=... is moved out of the address bar (and its history) at once.
function takeTokenFromFragment() {
  const match = /^#token=([^&]+)/.exec(location.hash);
  if (!match) return;
  sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
  history.replaceState(null, "", location.pathname + location.search);
}

class Refused extends Error {}

// Overdue durations count from the node's clock (its Date header), not this computer's.
let skew = 0;
function nodeNow() { return Date.now() + skew; }

async function api(path, headers) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(path, {
    headers: {Accept: "application/json", Authorization: "Bearer " + token, ...(headers || {})},
    cache: "no-store", credentials: "omit",
  });
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) skew = date - Date.now();
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (response.status === 401 || response.status === 403) {
    throw new Refused((body && body.detail) || response.statusText);
  }
  if (!response.ok) throw new Error((body && (body.detail || body.title)) || response.statusText);
  return body;
}

// Ask for the token once per tab; then refresh every REFRESH_MS until it is refused.
function start(refresh) {
  takeTokenFromFragment();
  let timer = null;
  const run = async () => {
    try {
      await refresh();
      $("error").hidden = true;
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (error) {
      if (error instanceof Refused) return signIn("The token was refused: " + error.message);
      $("error").textContent = "Could not refresh: " + error.message;
      $("error").hidden = false;
    }
  };
  const show = () => {
    $("signin").hidden = true;
    $("main").hidden = false;
    $("forget").hidden = false;
    run();
    if (timer === null) timer = setInterval(run, REFRESH_MS);
  };
  const signIn = (message) => {
    clearInterval(timer);
    timer = null;
    sessionStorage.removeItem(TOKEN_KEY);
    $("main").hidden = true;
    $("forget").hidden = true;
    $("updated").textContent = "";
    $("signin-error").textContent = message || "";
    $("signin").hidden = false;
    $("token").focus();
  };
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("token").value.trim();
    $("token").value = "";
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    show();
  });
  $("forget").addEventListener("click", () => signIn(""));
  if (sessionStorage.getItem(TOKEN_KEY)) show(); else signIn("");
  return run;
}
