// The opening form, from the schema POST /v1/cases validates with; the new case's page next.
let built = false;

async function openCase(body, form) {
  const box = form.querySelector(".refusal");
  box.hidden = true;
  const key = idempotencyKey(form, body);
  try {
    const created = await api("/v1/cases", {"Idempotency-Key": key}, "POST", body);
    location.assign("/ui/cases/" + encodeURIComponent(created.id));
  } catch (error) {
    if (error instanceof Refused) throw error;
    if (error instanceof Problem) delete form.dataset.pendingBody;  // answered: a new try
    const problem = error.body || {};
    box.replaceChildren(el("h4", {text: problem.rule ? t("refusal.title") : t("problem.title")}),
      el("p", {class: "explanation", text: problem.rule ? tr("rule." + problem.rule, problem.detail)
        : (problem.detail || error.message)}));
    box.hidden = false;
    showFieldErrors(form, problem.errors);
    if (!problem.errors) box.focus();
  }
}

async function refresh() {
  if (built) return;  // what is being typed stays
  const forms = await api("/v1/steps");
  const form = schemaForm("open", forms.opening, t("new.submit"), openCase);
  form.prepend(el("div", {class: "refusal", role: "alert", tabindex: "-1", hidden: ""}));
  $("opening").replaceChildren(form);
  built = true;
}

start(refresh);
