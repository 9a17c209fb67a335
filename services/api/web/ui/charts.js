// The monitor's charts, drawn as SVG by the page from the k-suppressed series: a suppressed
// cell is never drawn as a size, only marked, and each chart has its figures as a table.
const W = 560, H = 230, PAD = {top: 24, right: 12, bottom: 34, left: 40};

function monthName(month) {
  return new Intl.DateTimeFormat(LANG, {month: "short", year: "2-digit", timeZone: "UTC"})
    .format(new Date(month + "-01T00:00:00Z"));
}

function hidden(k) { return t("charts.suppressed", {k: number(k)}); }

function axis(max, unit) {
  const ticks = [0, max / 2, max].map((v) => {
    const y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
    return [svgEl("line", {x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid"}),
      svgEl("text", {x: PAD.left - 6, y: y + 4, class: "tick", "text-anchor": "end", text: number(v, 1)})];
  });
  return [...ticks.flat(), svgEl("text", {x: 4, y: 12, class: "tick", text: unit})];
}

// Columns per month; each column a stack (or a group) of [key, value] with value null = hidden.
function columnChart(months, cells, classOf, nameOf, stacked, unit) {
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const totals = months.map((m) => cells(m).reduce((sum, [, v]) => (stacked ? sum + (v || 0) : Math.max(sum, v || 0)), 0));
  const max = Math.max(1, ...totals);
  const step = plotW / Math.max(1, months.length);
  const marks = [];
  months.forEach((month, i) => {
    const x0 = PAD.left + i * step + step * 0.15, width = step * 0.7;
    const parts = cells(month);
    let y = PAD.top + plotH;
    const each = stacked ? width : width / Math.max(1, parts.length);
    parts.forEach(([key, value], j) => {
      const x = stacked ? x0 : x0 + j * each;
      if (value === null) {
        marks.push(svgEl("text", {x: x + each / 2, y: PAD.top + plotH - 3, class: "hidden-mark", "text-anchor": "middle", text: "*"}));
        return;
      }
      const h = plotH * value / max;
      const top = stacked ? y - h : PAD.top + plotH - h;
      marks.push(svgEl("rect", {x, y: top, width: Math.max(1, each - (stacked ? 0 : 2)), height: h, class: classOf(key)},
        svgEl("title", {text: `${monthName(month)} · ${nameOf(key)}: ${number(value)}`})));
      if (stacked) y -= h;
    });
    marks.push(svgEl("text", {x: x0 + width / 2, y: H - PAD.bottom + 16, class: "tick", "text-anchor": "middle", text: monthName(month)}));
  });
  return [...axis(max, unit), ...marks];
}

function figure(title, chart, legend, table) {
  return el("figure", {class: "chart"},
    el("figcaption", {text: title}),
    svgEl("svg", {viewBox: `0 0 ${W} ${H}`, direction: "ltr", role: "img", "aria-label": title}, ...chart),
    legend,
    el("details", null, el("summary", {text: t("charts.table")}), table));
}

function legendOf(items) {
  return el("ul", {class: "chart-legend"}, ...items.map(([cls, text]) =>
    el("li", null, el("span", {class: "swatch " + cls, "aria-hidden": "true"}), text)));
}

function grid(heads, rows) {
  return el("table", {class: "chart-table"},
    el("thead", null, el("tr", null, ...heads.map((h) => el("th", {scope: "col", text: h})))),
    el("tbody", null, ...rows.map((r) => el("tr", null, ...r.map((c, i) => i === 0
      ? el("th", {scope: "row", text: c}) : el("td", {class: "num", text: c}))))));
}

function statusChart(s) {
  const used = STATUSES.filter((st) => s.months.some((m) => st in s.by_status[m]));
  const cells = (m) => used.filter((st) => st in s.by_status[m]).map((st) => [st, s.by_status[m][st]]);
  const show = (v) => (v === null ? hidden(s.k) : number(v));
  return figure(t("charts.over-time"),
    columnChart(s.months, cells, statusClass, statusName, true, t("charts.cases")),
    legendOf(used.map((st) => [statusClass(st), statusName(st)])),
    grid([t("charts.month"), ...used.map(statusName)],
      s.months.map((m) => [monthName(m), ...used.map((st) => (st in s.by_status[m] ? show(s.by_status[m][st]) : "—"))])));
}

function stageChart(s) {
  const names = [...new Set(s.months.flatMap((m) => Object.keys(s.stages[m] || {})))];
  const order = ["referral", "acknowledgement", "decision", "preparation", "transit", "reintegration planning"];
  names.sort((a, b) => order.indexOf(a) - order.indexOf(b));
  const index = (name) => "g" + names.indexOf(name);
  const cell = (m, n) => (s.stages[m] || {})[n];
  return figure(t("charts.median-month"),
    columnChart(s.months, (m) => names.filter((n) => cell(m, n)).map((n) => [n, cell(m, n).median_days]),
      index, (n) => tr("stage." + n, label(n)), false, t("charts.days")),
    legendOf(names.map((n) => [index(n), tr("stage." + n, label(n))])),
    grid([t("charts.month"), ...names.map((n) => tr("stage." + n, label(n)))],
      s.months.map((m) => [monthName(m), ...names.map((n) => (!cell(m, n) ? "—"
        : cell(m, n).median_days === null ? hidden(s.k) : number(cell(m, n).median_days)))])));
}

function overdueChart(s) {
  const rows = Object.entries(s.overdue);
  if (!rows.length) return el("p", {class: "empty", text: t("corridors.no-overdue")});
  const max = Math.max(1, ...rows.map(([, v]) => v || 0));
  const height = 28 * rows.length + 8;
  const bars = rows.flatMap(([clock, v], i) => {
    const y = 4 + i * 28, name = clockName(clock);
    return [svgEl("text", {x: 200, y: y + 15, "text-anchor": "end", class: "tick", text: name}),
      v === null ? svgEl("text", {x: 210, y: y + 15, class: "hidden-mark", text: hidden(s.k)})
        : svgEl("rect", {x: 210, y, height: 20, width: Math.max(2, 300 * v / max), class: "late-bar"},
          svgEl("title", {text: `${name}: ${number(v)}`})),
      v === null ? null : svgEl("text", {x: 216 + 300 * v / max, y: y + 15, class: "tick", text: number(v)})];
  });
  return el("figure", {class: "chart"}, el("figcaption", {text: t("charts.overdue-corridor")}),
    svgEl("svg", {viewBox: `0 0 ${W} ${height}`, direction: "ltr", role: "img", "aria-label": t("charts.overdue-corridor")}, ...bars),
    el("details", null, el("summary", {text: t("charts.table")}),
      grid([t("col.clock"), t("charts.overdue")], rows.map(([c, v]) => [clockName(c), v === null ? hidden(s.k) : number(v)]))));
}

function charts(s) {
  if (!s || !s.months.length) return [el("p", {class: "empty", text: t("charts.no-data")})];
  return [statusChart(s), stageChart(s), overdueChart(s)];
}
