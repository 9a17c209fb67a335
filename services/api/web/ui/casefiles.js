// The case's notes and documents: the agency's own, for its caseworkers and supervisors.
// Each read is written to the access log with the page's purpose; a document is uploaded
// as the file itself and opened through the API with the tab's token, never by address.
const CASEFILES = {notes: "/v1/cases/{id}/notes", documents: "/v1/cases/{id}/documents"};
const UPLOAD_TYPES = ["application/pdf", "image/jpeg", "image/png"];

function caseFilesPath(template) { return template.replace("{id}", encodeURIComponent(CASE_ID)); }

function renderNotes(list) {
  const items = list.notes.map((n) => el("li", {class: "note", "data-seq": String(n.seq)},
    el("p", {class: n.erased ? "muted" : "note-text", text: n.erased ? t("notes.erased") : n.text}),
    el("p", {class: "muted", text: t("notes.by", {who: n.added_by, at: when(n.added_at)})})));
  $("notes").replaceChildren(items.length ? el("ul", {class: "notes"}, ...items)
    : el("p", {class: "empty", text: t("notes.none")}));
}

function renderDocuments(list) {
  if (list.erased || !list.documents.length) {
    $("documents").replaceChildren(el("p", {class: "empty",
      text: t(list.erased ? "documents.erased" : "documents.none")}));
    return;
  }
  const head = el("tr", null, ...["name", "type", "size", "added-by", "added-at", "sha256"].map(
    (k) => el("th", {scope: "col", text: t("documents." + k)})));
  const rows = list.documents.map((d) => el("tr", {"data-document": d.id},
    el("td", null, el("button", {type: "button", class: "link", text: d.name,
      "aria-label": t("documents.open", {name: d.name}), onclick: () => openDocument(d)})),
    el("td", {text: d.content_type}),
    el("td", {text: t("documents.bytes", {n: number(d.size)})}),
    el("td", {text: d.added_by}),
    el("td", {text: when(d.added_at)}),
    el("td", {class: "mono", text: d.sha256.slice(0, 16) + "…", title: d.sha256})));
  $("documents").replaceChildren(el("table", {class: "documents"},
    el("thead", null, head), el("tbody", null, ...rows)));
}

async function refreshCaseFiles(hidden) {
  $("casefiles").hidden = hidden;
  if (hidden) return;
  const [notes, documents] = await Promise.all([
    api(caseFilesPath(CASEFILES.notes), PURPOSE), api(caseFilesPath(CASEFILES.documents), PURPOSE)]);
  renderNotes(notes);
  renderDocuments(documents);
}

async function openDocument(doc) {
  const response = await fetch(caseFilesPath(CASEFILES.documents) + "/" + encodeURIComponent(doc.id), {
    headers: {Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY), ...PURPOSE},
    cache: "no-store", credentials: "omit"});
  const box = $("upload-result");
  if (!response.ok) {
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    box.textContent = (body && body.detail) || response.statusText;
    return;
  }
  const blob = new Blob([await response.arrayBuffer()], {type: doc.content_type});
  const link = el("a", {href: URL.createObjectURL(blob), download: doc.name});
  document.body.append(link);
  link.click();
  link.remove();
}

async function uploadDocument(event) {
  event.preventDefault();
  const input = $("document-file");
  const box = $("upload-result");
  const file = input.files[0];
  if (!file) { input.focus(); return; }
  const button = $("document-upload");
  button.disabled = true;
  try {
    const response = await fetch(caseFilesPath(CASEFILES.documents), {
      method: "POST", body: file, cache: "no-store", credentials: "omit",
      headers: {Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY),
        "Content-Type": UPLOAD_TYPES.includes(file.type) ? file.type : (file.type || "application/octet-stream"),
        "Content-Disposition": "attachment; filename*=UTF-8''" + encodeURIComponent(file.name)}});
    let body = null;
    try { body = await response.json(); } catch (_) { body = null; }
    if (!response.ok) {
      box.textContent = (body && body.detail) || response.statusText;
      return;
    }
    box.textContent = t("documents.uploaded", {name: body.name});
    input.value = "";
    await refreshCaseFiles(false);
  } finally {
    button.disabled = false;
  }
}

$("document-form").addEventListener("submit", uploadDocument);
