// report.html's script: draws the charts (plotly.js, inlined above) and runs the per-task explorer.
// Data come from the page itself: #ripsaw-charts (plotly figures), #ripsaw-tasks (a small index of every attempt)
// and #ripsaw-details (every attempt's details, gzip + base64, unpacked the first time one is opened).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v;
      else if (k === "class") e.className = v;
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k) e.append(k);
    return e;
  }

  // -- charts ------------------------------------------------------------------------------------------------
  const figures = JSON.parse($("ripsaw-charts").textContent);
  for (const div of document.querySelectorAll("div.chart[data-chart]")) {
    const fig = figures[div.dataset.chart];
    if (!fig) continue;
    if (typeof Plotly === "undefined") {
      div.textContent = "(this page was written without plotly.js: the chart's PNG and SVG are beside it)";
      continue;
    }
    Plotly.newPlot(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
  }
  document.body.dataset.charts = "ready";

  // -- per task ----------------------------------------------------------------------------------------------
  const T = JSON.parse($("ripsaw-tasks").textContent);
  const PASSED = T.outcomes.indexOf("passed");
  const INFRA = T.outcomes.indexOf("infra_error");
  const PAGE = 200;
  const byTask = T.tasks.map(() => []);
  T.attempts.forEach((a, i) => byTask[a[0]].push(i));
  const byAnchor = new Map(T.attempts.map((a, i) => [a[4], i]));
  const matrix = $("task-matrix");
  if (!matrix) return;
  const body = matrix.tBodies[0];
  const search = $("f-search"), outcome = $("f-outcome"), outcomeCombo = $("f-outcome-combo");
  const disagree = $("f-disagree"), count = $("f-count"), more = $("f-more");
  let shown = PAGE;

  const present = new Set(T.attempts.map((a) => a[3]));
  T.outcomes.forEach((o, i) => { if (present.has(i)) outcome.append(el("option", { value: i, text: o })); });
  T.combos.forEach((c, i) => outcomeCombo.append(el("option", { value: i, text: c })));
  if (disagree) {
    T.combos.forEach((a, i) => T.combos.forEach((b, j) => {
      if (i !== j) disagree.append(el("option", { value: i + ":" + j, text: a + " passes, " + b + " fails" }));
    }));
  }
  const head = el("tr", {}, el("th", { text: "task" }));
  for (const c of T.combos) head.append(el("th", { text: c }));
  matrix.tHead.append(head);

  function cell(task, combo) {
    const ids = byTask[task].filter((i) => T.attempts[i][1] === combo);
    const scored = ids.filter((i) => T.scored[T.attempts[i][3]]);
    const passed = scored.filter((i) => T.attempts[i][3] === PASSED).length;
    if (!ids.length) return { label: "—", css: "none", ids };
    if (ids.length === 1) {
      const o = T.attempts[ids[0]][3];
      return { label: T.outcomes[o], css: o === PASSED ? "ok" : o === INFRA ? "infra" : "bad", ids };
    }
    if (!scored.length) return { label: "infra", css: "infra", ids };
    const css = passed === scored.length ? "ok" : passed === 0 ? "bad" : "mixed";
    return { label: passed + "/" + scored.length, css, ids };
  }

  // Per (combo, sample) of a task: true = passed, false = scored and not passed (unscored attempts left out).
  function verdicts(task) {
    const v = new Map();
    for (const i of byTask[task]) {
      const [, combo, sample, o] = T.attempts[i];
      if (T.scored[o]) v.set(combo + ":" + sample, o === PASSED);
    }
    return v;
  }

  function discordant(task, a, b) {
    const v = verdicts(task);
    for (const [key, ok] of v) {
      const [combo, sample] = key.split(":");
      if (+combo !== a || !ok) continue;
      if (v.get(b + ":" + sample) === false) return true;
    }
    return false;
  }

  function disagrees(task) {
    const v = verdicts(task);
    const bySample = new Map();
    for (const [key, ok] of v) {
      const sample = key.split(":")[1];
      if (!bySample.has(sample)) bySample.set(sample, new Set());
      bySample.get(sample).add(ok);
    }
    for (const s of bySample.values()) if (s.size > 1) return true;
    return false;
  }

  function matches(task) {
    const q = search.value.trim().toLowerCase();
    if (q && !T.tasks[task].toLowerCase().includes(q)) return false;
    if (outcome.value !== "") {
      const o = +outcome.value, c = outcomeCombo.value;
      if (!byTask[task].some((i) => T.attempts[i][3] === o && (c === "" || T.attempts[i][1] === +c))) return false;
    }
    if (disagree && disagree.value) {
      if (disagree.value === "any") return disagrees(task);
      const [a, b] = disagree.value.split(":").map(Number);
      return discordant(task, a, b);
    }
    return true;
  }

  function render() {
    const rows = T.tasks.map((_, t) => t).filter(matches);
    body.replaceChildren();
    for (const t of rows.slice(0, shown)) {
      const tr = el("tr", { "data-task": t }, el("td", {}, el("code", { text: T.tasks[t] })));
      T.combos.forEach((_, c) => {
        const x = cell(t, c);
        const td = el("td", { class: x.ids.length ? "cell" : "" }, el("span", { class: "badge " + x.css, text: x.label }));
        if (x.ids.length) {
          td.dataset.attempts = x.ids.join(",");
          td.addEventListener("click", () => toggle(tr, td));
        }
        tr.append(td);
      });
      body.append(tr);
    }
    count.textContent = "showing " + Math.min(rows.length, shown) + " of " + rows.length + " matching tasks (" + T.tasks.length + " in all)";
    more.hidden = rows.length <= shown;
    matrix.dataset.rows = String(Math.min(rows.length, shown));
  }

  for (const input of [search, outcome, outcomeCombo, disagree]) {
    if (input) input.addEventListener(input.tagName === "INPUT" ? "input" : "change", () => { shown = PAGE; render(); });
  }
  more.addEventListener("click", () => { shown += PAGE; render(); });

  let details = null;
  async function unpack() {
    if (details) return details;
    const raw = Uint8Array.from(atob($("ripsaw-details").textContent.trim()), (ch) => ch.charCodeAt(0));
    const stream = new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip"));
    details = JSON.parse(await new Response(stream).text());
    return details;
  }

  async function toggle(tr, td) {
    const next = tr.nextElementSibling;
    const wasOpen = td.classList.contains("open");
    if (next && next.classList.contains("detail")) next.remove();
    tr.querySelectorAll("td.open").forEach((x) => x.classList.remove("open"));
    if (wasOpen) return null;
    td.classList.add("open");
    const all = await unpack();
    const box = el("td", { colspan: String(T.combos.length + 1) });
    for (const i of td.dataset.attempts.split(",").map(Number)) box.append(attempt(all[i]));
    const row = el("tr", { class: "detail" }, box);
    tr.after(row);
    return row;
  }

  function pre(label, text) {
    if (!text) return null;
    return el("div", {}, el("div", { class: "muted", text: label }), el("pre", { text }));
  }

  function attempt(d) {
    const box = el("div", { class: "attempt", id: d.anchor });
    const title = el("div", {}, d.combo + " · " + d.task + " · sample " + d.sample + ": ", el("strong", { text: d.outcome }));
    if (d.detail) title.append(" — " + d.detail);
    box.append(title);
    if (d.extraction) box.append(el("div", { class: "muted", text: "extraction: " + d.extraction }));
    const dl = el("dl", { class: "timings" });
    for (const [k, v] of d.figures) dl.append(el("dt", { text: k }), el("dd", { text: v }));
    box.append(dl, timeline(d.timeline));
    const prompt = pre(d.agent && d.agent.length ? "what the agent was first told" : "prompt (as sent, rendered)", d.prompt);
    if (prompt) box.append(prompt);
    const cols = el("div", { class: "cols" });
    cols.append(pre("reply", d.reply) || el("div", { class: "muted", text: "no reply recorded" }));
    const agent = d.agent && d.agent.length;
    cols.append(pre(agent ? "the agent's change (diff), judged in a fresh container" : "program run against the tests (extracted)", d.code) ||
      el("div", { class: "muted", text: agent ? "no change" : "no code extracted" }));
    box.append(cols);
    if (d.dropped.length) {
      const ul = el("ul");
      for (const s of d.dropped) ul.append(el("li", { text: "line " + s.line + " " + s.kind + ": " + s.text + (s.why ? " — " + s.why : "") }));
      box.append(el("div", { class: "muted", text: "dropped by extraction" }), ul);
    }
    for (const p of [pre("test output (stderr)", d.stderr), pre("test output (stdout)", d.stdout)]) if (p) box.append(p);
    if (d.turns.length) {
      const ol = el("ol");
      for (const t of d.turns) {
        const li = el("li", {}, el("div", { text: "turn " + t.turn + " (" + t.kind + "): public tests " + (t.public || "—") + ", hidden tests " + (t.hidden || "—") + (t.cut ? " — cut by the " + t.cut : "") }));
        for (const p of [pre("added to the prompt", t.prompt_delta), pre("candidate", t.code || ""), pre("public-test output shown to the model", t.public_feedback)]) if (p) li.append(p);
        ol.append(li);
      }
      box.append(el("div", { class: "muted", text: "turns" }), ol);
    }
    if (d.agent && d.agent.length) {
      const ol = el("ol", { start: "0" });
      for (const t of d.agent) {
        const head = "turn " + t.turn + " at " + t.at.toFixed(1) + " s: " + t.action +
          (t.exit !== null ? ", exit " + t.exit : "") + (t.cut ? " — cut by the " + t.cut : "") +
          " · model " + t.model.toFixed(2) + " s, tool " + t.tool.toFixed(2) + " s, overhead " + t.overhead.toFixed(3) + " s" +
          (t.snapshot !== null ? " · snapshot " + t.snapshot : "");
        const li = el("li", {}, el("div", { text: head }));
        for (const p of [pre("command", t.command), pre("observation shown to the model", t.observation)]) if (p) li.append(p);
        ol.append(li);
      }
      box.append(el("div", { class: "muted", text: "agent transcript" }), ol);
    }
    return box;
  }

  // Where an attempt's time went: one row per model call (queued, waiting for the first token, generating with
  // each chunk's arrival as a tick and the tokens received so far as a line), one for the sandbox runs.
  function timeline(tl) {
    const rows = tl.calls.length + 1, W = 1000, L = 120, R = 16, RH = 26, H = rows * RH + 24;
    const ends = [tl.task, tl.model + tl.sandbox];
    for (const c of tl.calls) ends.push(c.start + c.end);
    for (const [s, d] of tl.public) ends.push(s + d);
    const total = Math.max(...ends, 1e-6);
    const x = (t) => L + (Math.max(0, t) / total) * (W - L - R);
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("class", "timeline");
    const add = (tag, attrs, text) => {
      const e = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
      if (text !== undefined) e.textContent = text;
      svg.append(e);
      return e;
    };
    const bar = (t0, t1, y, fill, tip) => {
      const r = add("rect", { x: x(t0), y: y + 5, width: Math.max(1, x(t1) - x(t0)), height: RH - 10, fill });
      const title = document.createElementNS(SVG, "title");
      title.textContent = tip;
      r.append(title);
    };
    const s3 = (v) => (v === null || v === undefined ? "—" : Number(v).toPrecision(3) + " s");
    tl.calls.forEach((c, i) => {
      const y = i * RH;
      add("text", { x: 4, y: y + RH / 2 + 4 }, "call " + (i + 1) + (c.tokens !== null ? " (" + c.tokens + " tok)" : ""));
      if (c.queue) bar(c.start - c.queue, c.start, y, "#d0d7de", "queued before the request was sent: " + s3(c.queue));
      const first = c.first === null ? c.end : c.first;
      bar(c.start, c.start + first, y, "#f2cc60", "sent → first token (TTFT): " + s3(c.first));
      if (c.first !== null && c.last !== null) bar(c.start + c.first, c.start + c.last, y, "#54aeff", "first → last token: " + s3(c.last - c.first));
      if (c.chunks.length) {
        let pts = "";
        c.chunks.forEach((t, k) => {
          add("line", { x1: x(c.start + t), x2: x(c.start + t), y1: y + 4, y2: y + 8, stroke: "#0969da", "stroke-width": 1 });
          pts += x(c.start + t) + "," + (y + RH - 5 - ((k + 1) / c.chunks.length) * (RH - 10)) + " ";
        });
        add("polyline", { points: pts, fill: "none", stroke: "#0550ae", "stroke-width": 1.2 });
      }
    });
    const y = tl.calls.length * RH;
    add("text", { x: 4, y: y + RH / 2 + 4 }, "sandbox");
    let publicTime = 0;
    for (const [s, d] of tl.public) { bar(s, s + d, y, "#8fd19e", "public tests: " + s3(d)); publicTime += d; }
    const hidden = Math.max(0, tl.sandbox - publicTime);
    if (hidden > 0) bar(tl.task - hidden, tl.task, y, "#1a7f37", "hidden tests (the verdict): " + s3(hidden));
    for (let k = 0; k <= 4; k++) {
      const t = (total * k) / 4;
      add("line", { x1: x(t), x2: x(t), y1: 0, y2: rows * RH, stroke: "#eaeef2" });
      add("text", { x: x(t), y: rows * RH + 14, "text-anchor": k === 0 ? "start" : k === 4 ? "end" : "middle" }, s3(t));
    }
    return svg;
  }

  async function openAnchor() {
    const i = byAnchor.get(decodeURIComponent(location.hash.slice(1)));
    if (i === undefined) return;
    const [task, combo] = T.attempts[i];
    search.value = T.tasks[task];
    outcome.value = "";
    if (disagree) disagree.value = "";
    shown = PAGE;
    render();
    const tr = body.querySelector('tr[data-task="' + task + '"]');
    const td = tr && tr.children[combo + 1];
    if (td && td.dataset.attempts) {
      const row = await toggle(tr, td);
      const target = row && document.getElementById(T.attempts[i][4]);
      if (target) target.scrollIntoView();
    }
  }
  window.addEventListener("hashchange", openAnchor);
  render();
  matrix.dataset.ready = "true";
  openAnchor();
})();
