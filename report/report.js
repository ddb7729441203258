// The report page (R-M5): reads the report API with the token the reader types (kept for this
// tab only, in sessionStorage) and draws the funnel, the daily trend and control against
// exposed with its intervals. Plain SVG, no library, nothing loaded from elsewhere.
const $ = (id) => document.getElementById(id);
const account = decodeURIComponent(location.pathname.split("/")[2] || "");
const SVG = "http://www.w3.org/2000/svg";
const FUNNEL = [
  ["visits", "Visits"], ["prospects", "Prospects"], ["held", "Held out (control)"],
  ["exposed", "Exposed"], ["views", "Views (all engagements)"], ["accepted", "Accepted (all engagements)"], ["engaged", "Engaged"],
  ["conversions_engaged", "Conversions after engagement"],
  ["conversions_exposed", "Conversions after exposure, not engagement"],
];
const TREND = [["visits", "#2456d6"], ["exposed", "#e07b00"], ["engaged", "#0a8a5f"], ["conversions", "#b3261e"]];
const fmt = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const pct = (x) => (x == null || !isFinite(x) ? "–" : `${fmt.format(100 * x)} %`);

function el(tag, attrs = {}, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}

function isoDay(d) { return d.toISOString().slice(0, 10); }

function query() {
  return `from=${$("from").value}&to=${$("to").value}`;
}

function base() { return `/v1/admin/accounts/${encodeURIComponent(account)}/report`; }

async function csvLink(link, extra) {
  // Links cannot carry the token: the file is fetched with it and handed over as a blob.
  link.onclick = async (ev) => {
    ev.preventDefault();
    const r = await fetch(`${base()}?${query()}&format=csv${extra}`, { headers: auth() });
    const url = URL.createObjectURL(await r.blob());
    const a = el("a", { href: url, download: `${account}-${$("from").value}-${$("to").value}${extra ? "-comparisons" : ""}.csv` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
}

function auth() { return { Authorization: `Bearer ${$("token").value}` }; }

// Views and accepted offers are counted per engagement only: their totals add the engagements.
const PER_ENGAGEMENT = new Set(["views", "accepted", "declines", "timeouts"]);

// Rows of the campaign and engagement levels (lines of business and entry points are apart).
const plain = (r) => !r.lineOfBusiness && !r.entryPoint;

function sum(rows, metric, campaign = "", engagement = "") {
  const all = PER_ENGAGEMENT.has(metric) && !engagement;
  return rows.filter((r) => plain(r) && r.metric === metric && (all ? r.engagement !== "" && (!campaign || r.campaign === campaign)
    : r.campaign === campaign && r.engagement === engagement))
    .reduce((a, r) => a + r.n, 0);
}

/** Per line of business or entry point (`field`): metric → value → count. */
function by(rows, field) {
  const out = {};
  for (const r of rows) {
    if (!r[field]) continue;
    ((out[r[field]] ??= {})[r.metric] ??= 0);
    out[r[field]][r.metric] += r.n;
  }
  return out;
}

function revenue(rows, metric, campaign = "", engagement = "") {
  const by = {};
  for (const r of rows) {
    if (r.metric === metric && r.campaign === campaign && r.engagement === engagement && r.currency) {
      by[r.currency] = (by[r.currency] || 0) + r.value;
    }
  }
  return Object.entries(by).map(([c, v]) => `${fmt.format(v)} ${c}`).join(", ") || "–";
}

function totals(rows) {
  const dl = $("totals");
  dl.replaceChildren();
  const items = [
    ["Visits", sum(rows, "visits")], ["Prospects", sum(rows, "prospects")], ["Exposed", sum(rows, "exposed")],
    ["Engaged", sum(rows, "engaged")], ["Conversions", sum(rows, "conversions")],
    ["After engagement", sum(rows, "conversions_engaged")], ["Revenue", revenue(rows, "revenue")],
  ];
  for (const [k, v] of items) {
    const d = el("div", typeof v === "number" ? {} : { class: "wide" });
    d.append(el("dt", {}, k), el("dd", {}, typeof v === "number" ? fmt.format(v) : v));
    dl.append(d);
  }
}

function funnel(rows) {
  const data = FUNNEL.map(([m, label]) => [label, sum(rows, m)]);
  const max = Math.max(1, ...data.map((d) => d[1]));
  const w = 900, bar = 26, left = 300;
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${data.length * (bar + 8) + 8}`, role: "img", "aria-label": "Funnel: " + data.map((d) => `${d[0]} ${d[1]}`).join(", ") });
  data.forEach(([label, n], i) => {
    const y = 8 + i * (bar + 8);
    svg.append(el("svg:text", { x: 0, y: y + 17 }, label));
    svg.append(el("svg:rect", { x: left, y, width: Math.max(1, ((w - left - 80) * n) / max), height: bar, rx: 4, fill: "#2456d6", "data-metric": FUNNEL[i][0] }));
    svg.append(el("svg:text", { x: left + ((w - left - 80) * n) / max + 6, y: y + 17 }, fmt.format(n)));
  });
  $("funnel").replaceChildren(svg);
}

function trend(rows, from, to) {
  const days = [];
  for (let d = new Date(from + "T00:00:00Z"); isoDay(d) <= to; d.setUTCDate(d.getUTCDate() + 1)) days.push(isoDay(d));
  const series = TREND.map(([m, color]) => [m, color, days.map((day) => rows.filter((r) => r.day === day && r.metric === m && !r.campaign && !r.engagement && plain(r)).reduce((a, r) => a + r.n, 0))]);
  const max = Math.max(1, ...series.flatMap((s) => s[2]));
  const w = 900, h = 260, l = 50, b = 30, t = 10;
  const x = (i) => l + (days.length < 2 ? 0 : (i * (w - l - 10)) / (days.length - 1));
  const y = (v) => t + (h - t - b) * (1 - v / max);
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h + 24}`, role: "img", "aria-label": "Daily trend of visits, exposed, engaged and conversions" });
  for (const v of [0, max / 2, max]) {
    svg.append(el("svg:line", { x1: l, x2: w - 10, y1: y(v), y2: y(v), stroke: "#e3e6eb" }));
    svg.append(el("svg:text", { x: 4, y: y(v) + 4 }, fmt.format(Math.round(v))));
  }
  const step = Math.max(1, Math.ceil(days.length / 8));
  days.forEach((d, i) => { if (i % step === 0) svg.append(el("svg:text", { x: x(i) - 18, y: h - 8 }, d.slice(5))); });
  series.forEach(([m, color, vals], k) => {
    svg.append(el("svg:polyline", { points: vals.map((v, i) => `${x(i)},${y(v)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2, "data-series": m }));
    svg.append(el("svg:rect", { x: l + k * 130, y: h + 8, width: 12, height: 12, fill: color }));
    svg.append(el("svg:text", { x: l + k * 130 + 18, y: h + 19 }, m));
  });
  $("trend").replaceChildren(svg);
}

function lift(report) {
  const names = Object.fromEntries(report.campaigns.map((c) => [c.id, c.name || c.id]));
  const label = (c) => `${c.campaign ? names[c.campaign] || c.campaign : "Account"} · ${c.metric === "conversion_rate" ? "conversion rate" : "value/visitor " + c.currency}`;
  const rows = report.comparisons;
  const ok = rows.filter((c) => c.result);
  const bound = Math.max(0.1, ...ok.flatMap((c) => [Math.abs(c.result.sequentialCi[0]), Math.abs(c.result.sequentialCi[1])]).filter(isFinite));
  const w = 900, line = 34, left = 320, right = 20;
  const x = (v) => left + ((Math.max(-bound, Math.min(bound, v)) + bound) * (w - left - right)) / (2 * bound);
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${rows.length * line + 40}`, role: "img", "aria-label": "Lift with intervals, per campaign" });
  svg.append(el("svg:line", { x1: x(0), x2: x(0), y1: 0, y2: rows.length * line, stroke: "#8a919c", "stroke-dasharray": "4 3" }));
  for (const v of [-bound, 0, bound]) {
    svg.append(el("svg:text", { x: x(v), y: rows.length * line + 20, "text-anchor": v < 0 ? "start" : v > 0 ? "end" : "middle" }, pct(v)));
  }
  rows.forEach((c, i) => {
    const y = i * line + line / 2;
    svg.append(el("svg:text", { x: 0, y: y + 4 }, label(c)));
    if (!c.result) {
      svg.append(el("svg:text", { x: left, y: y + 4, fill: "#5b6472" }, `no comparison: ${c.notComparable.replaceAll("_", " ")}`));
      return;
    }
    const r = c.result;
    const g = el("svg:g", { "data-campaign": c.campaign, "data-metric": c.metric });
    g.append(el("svg:line", { x1: x(r.ci[0]), x2: x(r.ci[1]), y1: y, y2: y, stroke: "#8a919c", "stroke-width": 2, class: "fixed" }));
    g.append(el("svg:line", { x1: x(r.sequentialCi[0]), x2: x(r.sequentialCi[1]), y1: y, y2: y, stroke: r.sequentialCi[0] > 0 ? "#0a8a5f" : r.sequentialCi[1] < 0 ? "#b3261e" : "#2456d6", "stroke-width": 7, "stroke-opacity": 0.45, class: "sequential" }));
    g.append(el("svg:circle", { cx: x(r.lift), cy: y, r: 5, fill: "#1d2330" }));
    svg.append(g);
  });
  $("lift").replaceChildren(svg);
  const t = $("comparisons");
  t.replaceChildren();
  const head = el("tr");
  for (const h of ["Scope", "Metric", "Control n", "Control", "Exposed n", "Exposed", "Incremental", "Lift", "Always-valid 95 % CI", "p (always-valid)", "Fixed 95 % CI", "p (fixed)"]) head.append(el("th", { scope: "col" }, h));
  t.append(head);
  for (const c of rows) {
    const r = c.result;
    const value = c.metric !== "conversion_rate";
    const mean = (m) => (value ? fmt.format(m) : pct(m));
    const cells = [c.campaign ? names[c.campaign] || c.campaign : "Account", value ? `value/visitor (${c.currency})` : "conversion rate",
      c.control.visitors, mean(c.control.mean), c.exposed.visitors, mean(c.exposed.mean),
      r ? fmt.format(r.incremental) : "–", r ? pct(r.lift) : c.notComparable.replaceAll("_", " "),
      r ? `${pct(r.sequentialCi[0])} … ${pct(r.sequentialCi[1])}` : "–", r ? fmt.format(r.sequentialPValue) : "–",
      r ? `${pct(r.ci[0])} … ${pct(r.ci[1])}` : "–", r ? fmt.format(r.pValue) : "–"];
    const tr = el("tr");
    cells.forEach((v, i) => tr.append(el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {}, String(v))));
    t.append(tr);
  }
}

function campaigns(report) {
  const t = $("campaigns");
  t.replaceChildren();
  const head = el("tr");
  for (const h of ["Campaign", "Line of business", "Control %", "Held out", "Exposed", "Accepted", "Engaged", "Conv. after engagement", "Conv. after exposure", "Revenue after engagement"]) head.append(el("th", { scope: "col" }, h));
  t.append(head);
  for (const c of report.campaigns) {
    const rows = report.rows;
    const accepted = sum(rows, "accepted", c.id);
    const cells = [c.name || c.id, c.lineOfBusiness || "–", c.controlGroupPercent, sum(rows, "held", c.id), sum(rows, "exposed", c.id),
      accepted, sum(rows, "engaged", c.id), sum(rows, "conversions_engaged", c.id), sum(rows, "conversions_exposed", c.id), revenue(rows, "revenue_engaged", c.id)];
    const tr = el("tr", { "data-campaign": c.id });
    cells.forEach((v, i) => tr.append(el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {}, String(v))));
    t.append(tr);
  }
}

function levels(report) {
  const t = $("levels");
  t.replaceChildren();
  const head = el("tr");
  for (const h of ["Level", "Name", "Prospects", "Exposed", "Views", "Accepted", "Engaged"]) head.append(el("th", { scope: "col" }, h));
  t.append(head);
  for (const [field, label] of [["lineOfBusiness", "Line of business"], ["entryPoint", "Entry point"]]) {
    for (const [name, m] of Object.entries(by(report.rows, field)).sort()) {
      const tr = el("tr", { "data-level": field, "data-name": name });
      tr.append(el("th", { scope: "row" }, label), el("td", {}, name));
      for (const metric of ["prospects", "exposed", "views", "accepted", "engaged"]) tr.append(el("td", {}, fmt.format(m[metric] ?? 0)));
      t.append(tr);
    }
  }
}

async function load(ev) {
  ev?.preventDefault();
  sessionStorage.setItem("ee-report-token", $("token").value);
  const status = $("status");
  status.className = "";
  status.textContent = "Loading…";
  try {
    const r = await fetch(`${base()}?${query()}`, { headers: auth() });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error ? body.error.message : `HTTP ${r.status}`);
    totals(body.rows);
    funnel(body.rows);
    trend(body.rows, body.from, body.to);
    lift(body);
    campaigns(body);
    levels(body);
    $("report").hidden = false;
    status.textContent = `${body.from} to ${body.to}, days in ${body.timeZone}; conversions count for the ${body.attribution} accepted engagement within ${body.crossSessionDays} days.`;
  } catch (e) {
    status.className = "error";
    status.textContent = `Could not load the report: ${e.message}`;
  }
}

addEventListener("DOMContentLoaded", () => {
  const today = new Date();
  const p = new URLSearchParams(location.search);
  $("to").value = p.get("to") || isoDay(today);
  $("from").value = p.get("from") || isoDay(new Date(today.getTime() - 29 * 86400000));
  $("token").value = sessionStorage.getItem("ee-report-token") || "";
  $("query").addEventListener("submit", load);
  csvLink($("csv"), "");
  csvLink($("csv-comparisons"), "&table=comparisons");
  if ($("token").value) load();
});
