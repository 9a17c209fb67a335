// A case's path between the two agencies: one lane each, in order, every fact in the lane
// of the agency that recorded it; a fact received from the partner is drawn as a hand-off
// across the middle, with its receipt (the message and the sender's hash).

function arrow(toward) {
  // Drawn left to right; the lane direction (and the page's) turns it round.
  const svg = svgEl("svg", {viewBox: "0 0 100 20", class: "handoff", "aria-hidden": "true",
    preserveAspectRatio: "none"}, svgEl("path", {d: "M2 10 H88 M80 3 L96 10 L80 17"}));
  if (toward === "start") svg.classList.add("back");
  return svg;
}

function laneEvent(e, ours) {
  const receipt = e.message_id
    ? el("p", {class: "receipt"}, el("span", {class: "badge", text: t("timeline.received")}),
      el("span", {class: "mono", title: e.sender_hash || "", text: " " + short(e.message_id)}))
    : null;
  // The agency's own facts that cross: when the partner's receipt came, or not yet.
  const delivery = !e.message_id && e.recorded_by === ours && e.shared
    ? el("p", {class: "delivery muted"}, e.delivered_at
      ? t("timeline.delivered", {when: when(e.delivered_at, "short")})
      : el("span", {class: "pending", text: t("timeline.not-received")}))
    : null;
  const approved = e.approved_by
    ? el("p", {class: "approved"}, t("timeline.approved-by", {sub: e.approved_by})) : null;
  return el("div", {class: "event"},
    el("p", {class: "what"}, el("span", {class: "seq", text: "#" + number(e.seq)}), " ",
      el("strong", {text: tr("event." + e.type, e.type)})),
    el("p", {class: "muted"}, el("time", {datetime: e.occurred_at, text: when(e.occurred_at, "short")}),
      " · " + e.actor),
    approved, receipt, delivery,
    el("p", {class: "mono muted", title: e.hash, text: e.hash.slice(0, 12)}));
}

// lanes(timeline, {referring, receiving}, ours): an ordered list, lanes as grid columns.
function lanes(events, agencies, ours) {
  const head = el("li", {class: "lane-head", "aria-hidden": "true"},
    el("span", {class: "lane-name start", text: t("timeline.referring", {agency: agencies.referring})}),
    el("span"),
    el("span", {class: "lane-name end", text: t("timeline.receiving", {agency: agencies.receiving})}));
  const rows = events.map((e) => {
    const side = e.recorded_by === agencies.referring ? "start" : "end";
    const crossing = e.message_id ? arrow(side === "start" ? "end" : "start") : el("span");
    const where = side === "start" ? agencies.referring : agencies.receiving;
    const sr = el("span", {class: "visually-hidden",
      text: t(e.message_id ? "timeline.by-received" : "timeline.by", {agency: where, ours}) + " "});
    return el("li", {class: `lane-row ${side}` + (e.message_id ? " crossed" : "")},
      side === "start" ? el("div", {class: "cell start"}, sr, laneEvent(e, ours)) : el("div", {class: "cell"}),
      el("div", {class: "middle"}, crossing),
      side === "end" ? el("div", {class: "cell end"}, sr, laneEvent(e, ours)) : el("div", {class: "cell"}));
  });
  return el("ol", {class: "lanes", "aria-label": t("timeline.label")}, head, ...rows);
}
