// The monitor's trends: a chart per figure with the corridors side by side (with a
// breakdown, each corridor's column stacked by category), each with its table; the open
// alerts; the HTCDS export to download. Every count comes k-suppressed from the API.
const TRENDS = {figures: ["referrals", "acceptances", "declines", "departures", "arrivals",
  "overdue_clocks", "transit_incidents", "protection_incidents", "retrafficking_escalations"]};
const HTCDS = "/v1/monitor/statistics/htcds";
let breakdown = "";

function categoryName(kind, c) {
  if (kind === "age_band") return c === "unknown" ? t("value.unknown") : c;
  return tr("value." + c, label(c));
}

function corridorName(c) { return `${c.corridor.referring} → ${c.corridor.receiving}`; }

// Months along x; per month one column per corridor, a stack of [category, value] in each.
function sideBySide(months, corridors, parts) {
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const sums = months.flatMap((m) => corridors.map((c, i) => parts(m, c, i)
    .reduce((sum, [, v]) => sum + (v || 0), 0)));
  const max = Math.max(1, ...sums);
  const step = plotW / Math.max(1, months.length);
  const each = (step * 0.8) / Math.max(1, corridors.length);
  const marks = [];
  months.forEach((month, mi) => {
    corridors.forEach((c, ci) => {
      const x = PAD.left + mi * step + step * 0.1 + ci * each;
      let y = PAD.top + plotH;
      for (const [cls, value, name] of parts(month, c, ci)) {
        if (value === null) {
          marks.push(svgEl("text", {x: x + each / 2, y: PAD.top + plotH - 3, class: "hidden-mark",
            "text-anchor": "middle", text: "*"}));
          continue;
        }
        const h = plotH * value / max;
        marks.push(svgEl("rect", {x, y: y - h, width: Math.max(1, each - 1), height: h, class: cls},
          svgEl("title", {text: `${monthName(month)} · ${corridorName(c)} · ${name}: ${number(value)}`})));
        y -= h;
      }
    });
    if (months.length <= 12 || mi % 2 === 0) {
      marks.push(svgEl("text", {x: PAD.left + mi * step + step / 2, y: H - PAD.bottom + 16,
        class: "tick", "text-anchor": "middle", text: monthName(month)}));
    }
  });
  return [...axis(max, t("charts.cases")), ...marks];
}

function trendChart(answer, figure) {
  const {months, corridors, k} = answer;
  const cats = answer.categories || [];
  const show = (v) => (v === null ? hidden(k) : number(v));
  const title = t("trends.figure." + figure);
  if (!breakdown) {
    const parts = (m, c, i) => [["g" + (i % 6), c.figures[figure].months[m], title]];
    return figure_(title, sideBySide(months, corridors, parts),
      legendOf(corridors.map((c, i) => ["g" + (i % 6), corridorName(c)])),
      grid([t("charts.month"), ...corridors.map(corridorName)],
        months.map((m) => [monthName(m), ...corridors.map((c) => show(c.figures[figure].months[m]))])));
  }
  const parts = (m, c) => cats.map((cat, j) => ["g" + (j % 6) + " c" + j,
    c.figures[figure].cells[m][cat], categoryName(breakdown, cat)]);
  const heads = corridors.flatMap((c) => [corridorName(c),
    ...cats.map((cat) => `${corridorName(c)} · ${categoryName(breakdown, cat)}`)]);
  return figure_(title, sideBySide(months, corridors, parts),
    legendOf(cats.map((cat, j) => ["g" + (j % 6) + " c" + j, categoryName(breakdown, cat)])),
    grid([t("charts.month"), ...heads], months.map((m) => [monthName(m), ...corridors.flatMap((c) => [
      show(c.figures[figure].months[m]), ...cats.map((cat) => show(c.figures[figure].cells[m][cat]))])])));
}

function figure_(title, chart, legend, table) { return figure(title, chart, legend, table); }

function alertRow(a) {
  const what = a.kind === "clock" ? clockName(a.clock)
    : t("alerts.kind." + a.kind) + (a.incident ? ` (${tr("value." + a.incident, label(a.incident))})` : "");
  return el("tr", null, el("td", null, `${a.corridor.referring} → ${a.corridor.receiving}`),
    el("td", null, el("span", {class: "mono", title: a.case, text: short(a.case)})),
    el("td", {text: what}), el("td", {text: when(a.at)}));
}

function openAlerts(list) {
  if (!list.length) return el("p", {class: "empty", text: t("alerts.none")});
  const heads = ["alerts.corridor", "col.pseudonym", "alerts.what", "alerts.since"].map((k) => t(k));
  // The latest first; a long list folds away, and shows its latest 50 only.
  const latest = [...list].sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 50);
  const table = el("table", {class: "alerts"},
    el("thead", null, el("tr", null, ...heads.map((h) => el("th", {scope: "col", text: h})))),
    el("tbody", null, ...latest.map(alertRow)));
  return list.length <= 10 ? table
    : el("details", null, el("summary", {text: t("alerts.all", {n: number(latest.length)})}), table);
}

async function downloadCsv(event) {
  event.preventDefault();
  const token = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(event.currentTarget.dataset.path,
    {headers: {Accept: "text/csv", Authorization: "Bearer " + token}, cache: "no-store", credentials: "omit"});
  if (!response.ok) { $("error").textContent = t("refresh.failed", {reason: response.statusText}); $("error").hidden = false; return; }
  const link = el("a", {href: URL.createObjectURL(await response.blob()), download: "homeward-htcds.csv"});
  document.body.append(link);
  link.click();
  link.remove();
}

function toolbar(answer) {
  const select = el("select", {id: "breakdown"},
    ...["", "sex", "age_band", "form"].map((b) => el("option", {value: b, text: t("trends.by." + (b || "none"))})));
  select.value = breakdown;
  select.addEventListener("change", () => { breakdown = select.value; refresh(); });
  const csv = el("a", {href: "#", id: "download-csv", class: "button",
    "data-path": `${HTCDS}?from=${answer.from}&to=${answer.to}`,
    text: t("trends.csv", {from: answer.from, to: answer.to})});
  csv.addEventListener("click", downloadCsv);
  return el("div", {class: "toolbar"},
    el("label", {for: "breakdown", text: t("trends.breakdown")}), select, csv);
}

async function trends() {
  const query = breakdown ? `?breakdown=${breakdown}` : "";
  const [answer, alerts] = await Promise.all([api("/v1/monitor/trends" + query), api("/v1/monitor/alerts")]);
  const charts = answer.corridors.length
    ? TRENDS.figures.map((f) => trendChart(answer, f))
    : [el("p", {class: "empty", text: t("charts.no-data")})];
  return el("section", {class: "trends"},
    el("h2", {text: t("alerts.title", {n: number(alerts.length)})}), openAlerts(alerts),
    el("h2", {text: t("trends.title")}),
    el("p", {class: "muted", text: t("trends.note", {k: number(answer.k)})}),
    toolbar(answer),
    el("div", {class: "charts"}, ...charts));
}
