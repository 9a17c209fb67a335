// The transfer to another agency: a supervisor of the referring agency, on an open case.
function showTransfer(c) {
  const supervisor = roles().includes("supervisor");
  $("transfer-section").hidden = !(supervisor && c.side === "referring" && !c.closed);
  const from = $("transferred-from");
  from.hidden = !c.transferred_from;
  if (c.transferred_from) {
    from.replaceChildren(t("case.transferred-from") + " ",
      el("a", {href: "/ui/cases/" + encodeURIComponent(c.transferred_from), class: "mono",
        text: c.transferred_from}));
  }
}

async function transferCase(event) {
  event.preventDefault();
  const box = $("transfer-result");
  const button = $("transfer-submit");
  button.disabled = true;
  try {
    const body = {to_agency: $("transfer-to").value.trim(), reason: $("transfer-reason").value};
    const form = $("transfer-form");
    const made = await api(path(PATHS.case) + "/transfer",
      {"Idempotency-Key": idempotencyKey(form, body)}, "POST", body);
    delete form.dataset.pendingBody;
    box.textContent = "";
    await refresh();  // the case is closed now: the form goes, the notice says where to
    $("notice").replaceChildren(t("transfer.done"),
      el("a", {href: "/ui/cases/" + encodeURIComponent(made.id), class: "mono", text: made.id}));
  } catch (error) {
    if (error instanceof Refused) throw error;
    if (error instanceof Problem) delete $("transfer-form").dataset.pendingBody;  // answered
    const detail = (error.body && error.body.detail) || error.message;
    box.textContent = error.body && error.body.rule
      ? tr("rule." + error.body.rule, error.body.rule) + " · " + detail : detail;
  } finally {
    button.disabled = false;
  }
}

$("transfer-form").addEventListener("submit", transferCase);
