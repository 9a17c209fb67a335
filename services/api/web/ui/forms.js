// Forms built from a step body's JSON Schema (the one the API validates with), and the
// body read back from them: a new step gets its form with no page code.

// Follow $ref, and read `X | None` (anyOf with null) as an optional X.
function resolve(schema, defs) {
  let s = schema;
  while (s && s.$ref) s = defs[s.$ref.split("/").pop()];
  if (s && s.anyOf) {
    const real = s.anyOf.filter((x) => x.type !== "null");
    return {...resolve(real[0], defs), nullable: real.length < s.anyOf.length,
      title: s.title, default: s.default};
  }
  return s || {};
}

function choices(s) { return s.enum || (s.const !== undefined ? [s.const] : null); }

function control(id, s, required) {
  const values = choices(s);
  if (values) {
    return el("select", {id, ...(required ? {required: ""} : {})},
      required && values.length === 1 ? null : el("option", {value: "", text: "—"}),
      ...values.map((v) => el("option", {value: String(v), text: valueName(v)})));
  }
  if (s.type === "boolean") {
    return el("select", {id, ...(required ? {required: ""} : {})}, el("option", {value: "", text: "—"}),
      el("option", {value: "true", text: t("form.yes")}),
      el("option", {value: "false", text: t("form.no")}));
  }
  if (s.type === "string" && (s.maxLength || 0) > 300) {
    return el("textarea", {id, rows: "3", maxlength: String(s.maxLength), ...(required ? {required: ""} : {})});
  }
  const type = s.type === "integer" || s.type === "number" ? "number"
    : s.format === "date" ? "date" : s.format === "date-time" ? "datetime-local"
      : s.format === "email" ? "email" : "text";
  const attrs = {id, type, ...(required ? {required: ""} : {})};
  if (s.maxLength) attrs.maxlength = String(s.maxLength);
  if (s.minimum !== undefined) attrs.min = String(s.minimum);
  if (s.maximum !== undefined) attrs.max = String(s.maximum);
  if (s.type === "integer") attrs.step = "1";
  return el("input", attrs);
}

// One labelled field, or a fieldset for an object or a set of choices.
function field(prefix, name, schema, defs, required, path) {
  const s = resolve(schema, defs);
  const id = `${prefix}-${path.join("-")}`;
  const mark = required ? el("span", {class: "required", text: " " + t("form.required")}) : null;
  const error = el("span", {class: "field-error", id: id + "-error", "data-path": path.join(".")});
  if (s.type === "object" && s.properties) {
    return el("fieldset", {"data-path": path.join("."), "data-kind": "object"},
      el("legend", null, fieldName(name), mark),
      ...fields(prefix, s, defs, path), error);
  }
  if (s.type === "array") {
    const item = resolve(s.items || {}, defs);
    const values = choices(item);
    if (values) {
      return el("fieldset", {"data-path": path.join("."), "data-kind": "choices"},
        el("legend", null, fieldName(name), mark),
        ...values.map((v) => el("label", {class: "choice"},
          el("input", {type: "checkbox", value: String(v), id: `${id}-${v}`}), " " + valueName(v))),
        error);
    }
    const input = el("input", {id, type: "text", "data-path": path.join("."), "data-kind": "list",
      "aria-describedby": `${id}-hint ${id}-error`, ...(required ? {required: ""} : {})});
    return el("div", {class: "field"}, el("label", {for: id}, fieldName(name), mark), input,
      el("span", {class: "hint", id: id + "-hint", text: t("form.list")}), error);
  }
  const input = control(id, s, required);
  input.dataset.path = path.join(".");
  input.dataset.kind = s.type === "boolean" ? "boolean" : s.type === "integer" ? "integer"
    : s.type === "number" ? "number" : s.format === "date-time" ? "datetime" : "text";
  input.setAttribute("aria-describedby", id + "-error");
  return el("div", {class: "field"}, el("label", {for: id}, fieldName(name), mark), input, error);
}

function fields(prefix, schema, defs, path) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {})
    .filter(([name]) => !(path.length === 0 && name === "id"))  // the server names new cases
    .map(([name, s]) => field(prefix, name, s, defs, required.has(name), [...path, name]));
}

// The form for a schema; `submit(body, form)` is called with the body read from it.
function schemaForm(prefix, schema, submitText, submit) {
  const defs = schema.$defs || {};
  const form = el("form", {class: "step-form", novalidate: "", "data-form": prefix},
    ...fields(prefix, schema, defs, []),
    el("div", {class: "actions"}, el("button", {type: "submit", text: submitText})));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(readForm(form), form);
  });
  return form;
}

function setPath(body, path, value) {
  const parts = path.split(".");
  let at = body;
  for (const part of parts.slice(0, -1)) at = at[part] ??= {};
  at[parts[parts.length - 1]] = value;
}

// The body as the schema wants it; an empty optional field is left out.
function readForm(form) {
  const body = {};
  for (const node of form.querySelectorAll("[data-kind]")) {
    const path = node.dataset.path;
    const kind = node.dataset.kind;
    if (kind === "object") continue;
    if (kind === "choices") {
      const picked = [...node.querySelectorAll("input:checked")].map((c) => c.value);
      if (picked.length) setPath(body, path, picked);
      continue;
    }
    const raw = node.value.trim();
    if (raw === "") continue;
    const value = kind === "boolean" ? raw === "true"
      : kind === "integer" ? Number.parseInt(raw, 10) : kind === "number" ? Number(raw)
        : kind === "datetime" ? new Date(raw).toISOString()
          : kind === "list" ? raw.split(",").map((x) => x.trim()).filter(Boolean) : raw;
    setPath(body, path, value);
  }
  return body;
}

// The API's field errors beside their fields; the entered data stays as it was.
function showFieldErrors(form, errors) {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  let first = null;
  for (const error of errors || []) {
    const spot = [...form.querySelectorAll(".field-error")].find((n) => n.dataset.path === error.field)
      || form.querySelector(".form-problem");
    if (!spot) continue;
    spot.textContent = error.message;
    const input = form.querySelector(`[data-path="${CSS.escape(error.field)}"]:not(.field-error)`);
    if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
  }
  if (first && first.focus) first.focus();
}

// A retry after the network failed (no answer came) sends the same key, so the node records
// the step once; any answer, even a refusal, ends that attempt.
function idempotencyKey(form, body) {
  const sent = JSON.stringify(body);
  if (form.dataset.pendingBody !== sent) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    form.dataset.pendingKey = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    form.dataset.pendingBody = sent;
  }
  return form.dataset.pendingKey;
}
