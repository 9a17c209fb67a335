// The monitor's corridor view: cases per status, median days per stage, overdue clocks.
const PATHS = {corridors: "/v1/monitor/corridors", series: "/v1/monitor/series"};

function td(...children) { return el("td", null, ...children); }

function byStatus(counts) {
  // In the process's order; a status this page does not know goes last, uncoloured.
  const known = STATUSES.filter((s) => counts[s]);
  const other = Object.keys(counts).filter((s) => !STATUSES.includes(s) && counts[s]);
  const order = [...known, ...other];
  const total = order.reduce((sum, s) => sum + counts[s], 0);
  const bar = el("div", {class: "stack", role: "img",
    "aria-label": order.map((s) => `${statusName(s)}: ${number(counts[s])}`).join(", ")});
  for (const s of order) {
    const seg = el("div", {class: "seg " + statusClass(s), title: `${statusName(s)}: ${number(counts[s])}`,
      text: counts[s] / total >= 0.06 ? number(counts[s]) : ""});
    seg.style.flexGrow = String(counts[s]);  // CSSOM: allowed under the page's CSP
    bar.append(seg);
  }
  const legend = el("div", {class: "legend"}, ...order.map((s) =>
    el("span", null, pill(s), el("span", {class: "count", text: number(counts[s])}))));
  return [bar, legend];
}

function stages(view) {
  const rows = Object.entries(view);
  const longest = Math.max(0, ...rows.map(([, s]) => s.median_days || 0));
  const body = rows.map(([stage, s]) => {
    const bar = s.median_days ? el("div", {class: "days"}) : null;
    if (bar) bar.style.width = `${(100 * s.median_days) / longest}%`;
    return el("tr", null, td(tr("stage." + stage, label(stage))), el("td", {class: "num", text: number(s.cases)}),
      el("td", {class: "num", text: s.median_days === null ? "—" : t("corridors.days", {n: number(s.median_days)})}),
      el("td", {class: "bar"}, bar));
  });
  return el("table", {class: "stages"},
    el("thead", null, el("tr", null, el("th", {text: t("corridors.stage")}),
      el("th", {class: "num", text: t("corridors.through")}),
      el("th", {class: "num", text: t("corridors.median")}), el("th"))),
    el("tbody", null, ...body));
}

function overdueRow(r) {
  return el("tr", {class: "late"},
    td(el("span", {class: "mono", title: r.case, text: short(r.case)})),
    td(clockName(r.clock)),
    td(r.owed_by), td(when(r.due_at)),
    td(el("span", {class: "late-text", text: duration(r.hours_overdue * 3600000)})));
}

function overdue(rows) {
  if (!rows.length) return el("p", {class: "empty", text: t("corridors.no-overdue")});
  const sorted = [...rows].sort((a, b) => b.hours_overdue - a.hours_overdue);
  const heads = ["col.pseudonym", "col.clock", "col.owed-by", "col.was-due", "col.overdue-by"].map((k) => t(k));
  const table = el("table", null,
    el("thead", null, el("tr", null, ...heads.map((h) => el("th", {text: h})))),
    el("tbody", null, ...sorted.map(overdueRow)));
  // A long list folds away; its count is in the corridor's heading and the chart above.
  return rows.length <= 10 ? table
    : el("details", null, el("summary", {text: t("corridors.overdue-list", {n: number(rows.length)})}), table);
}

function corridor(c, series) {
  const late = c.overdue.length;
  const mine = series.find((s) => s.corridor.referring === c.corridor.referring
    && s.corridor.receiving === c.corridor.receiving);
  return el("section", {class: "corridor"},
    el("h2", null, `${c.corridor.referring} → ${c.corridor.receiving} `,
      el("span", {class: "count", text: t("corridors.cases", {n: number(c.cases)})
        + (late ? t("corridors.overdue-clocks", {n: number(late)}) : "")})),
    el("div", {class: "charts"}, ...charts(mine)),
    el("h3", {text: t("corridors.by-status")}), ...byStatus(c.by_status),
    el("h3", {text: t("corridors.stages")}), stages(c.stages),
    el("h3", {text: t("corridors.overdue")}), overdue(c.overdue));
}

async function refresh() {
  const [corridors, series, above] = await Promise.all([api(PATHS.corridors), api(PATHS.series), trends()]);
  $("trends").replaceChildren(above);
  $("corridors").replaceChildren(...(corridors.length ? corridors.map((c) => corridor(c, series))
    : [el("p", {class: "empty", text: t("corridors.empty")})]));
}

start(refresh);
