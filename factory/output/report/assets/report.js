// The report page: reads the JSON in #report-data, draws the charts with Chart.js and fills the sample browser.
// Plain DOM code; every text goes in through textContent, never as HTML. Sets body[data-ready] when done.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var COLORS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                "#9c755f", "#bab0ac"];
  Chart.defaults.animation = false;  // a static page: draw once
  Chart.defaults.maintainAspectRatio = false;  // fill the fixed-height boxes of the stylesheet

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function fmt(x) { return x === null || x === undefined ? "-" : (typeof x === "number" ? x.toLocaleString("en") : String(x)); }
  function chart(id, config) { return new Chart(document.getElementById(id), config); }
  function hide(id) { document.getElementById(id).closest("section").hidden = true; }

  // Header: what ran, and the headline figures.
  var run = D.run, s = D.stats, f = D.funnel;
  document.getElementById("title").textContent = "Run report: " + (run.recipe || run.folder);
  var facts = [["folder", run.folder], ["model", run.model], ["fingerprint", run.fingerprint],
    ["complete", run.complete ? "yes" : "no (" + fmt(s.units_done) + "/" + fmt(s.units_total) + " units)"],
    ["prompts", s.prompts], ["generated", f.generated], ["passed", f.passed], ["accepted", f.accepted],
    ["pairs", f.pairs], ["pass rate", s.pass_rate === null ? "-" : (100 * s.pass_rate).toFixed(1) + "%"],
    ["wall time", s.wall_seconds === null ? "-" : s.wall_seconds + " s"], ["samples/s", s.samples_per_second],
    ["tokens", s.tokens ? "prompt " + fmt(s.tokens.prompt) + ", completion " + fmt(s.tokens.completion) : "-"]];
  Object.keys(s.estimates || {}).forEach(function (k) { facts.push([k, s.estimates[k]]); });
  if (s.engine) facts.push(["engine", Object.keys(s.engine).map(function (k) { return k + " " + fmt(s.engine[k]); }).join(", ")]);
  var dl = document.getElementById("facts");
  facts.forEach(function (p) { dl.appendChild(el("dt", {text: p[0]})); dl.appendChild(el("dd", {text: fmt(p[1])})); });

  // The funnel: generated, each verifier:reason (coloured by verifier), passed, accepted, pairs.
  var verifiers = Object.keys(D.per_verifier);
  var colorOf = function (name) { return COLORS[verifiers.indexOf(name) % COLORS.length]; };
  var reasons = Object.keys(f.rejected_by_reason || {});
  var labels = ["generated"].concat(reasons, ["passed", "accepted", "pairs"]);
  var values = [f.generated].concat(reasons.map(function (r) { return f.rejected_by_reason[r]; }), [f.passed, f.accepted, f.pairs]);
  var colors = ["#555"].concat(reasons.map(function (r) { return colorOf(r.split(":")[0]); }), ["#59a14f", "#2e7d32", "#1b5e20"]);
  document.getElementById("funnel").parentNode.style.height = (60 + 24 * labels.length) + "px";
  chart("funnel", {type: "bar", data: {labels: labels, datasets: [{label: "samples", data: values, backgroundColor: colors}]},
    options: {indexAxis: "y", plugins: {legend: {display: false}}}});
  if (verifiers.length) {
    var allReasons = [];
    verifiers.forEach(function (v) { Object.keys(D.per_verifier[v]).forEach(function (r) { if (allReasons.indexOf(r) < 0) allReasons.push(r); }); });
    chart("verifiers", {type: "bar", data: {labels: verifiers, datasets: allReasons.map(function (r, i) {
      return {label: r, backgroundColor: COLORS[i % COLORS.length], data: verifiers.map(function (v) { return D.per_verifier[v][r] || 0; })};
    })}, options: {scales: {x: {stacked: true}, y: {stacked: true, title: {display: true, text: "samples rejected"}}}}});
  } else { document.getElementById("verifiers").hidden = true; }

  // Prompts: pass-rate histogram and pass@k.
  chart("passrate", {type: "bar", data: {labels: D.prompts.bins, datasets: [{label: "prompts", data: D.prompts.prompts, backgroundColor: "#4e79a7"}]},
    options: {plugins: {legend: {display: false}}, scales: {x: {title: {display: true, text: "share of a prompt's samples that passed"}}}}});
  if (D.prompts.pass_at_k.length) {
    chart("passk", {type: "line", data: {labels: D.prompts.pass_at_k.map(function (p) { return "pass@" + p[0]; }),
      datasets: [{label: "pass@k", data: D.prompts.pass_at_k.map(function (p) { return p[1]; }), borderColor: "#e15759"}]},
      options: {scales: {y: {min: 0, max: 1}}}});
  } else {
    document.getElementById("passk").replaceWith(el("p", {text: D.prompts.adaptive ? "pass@k is not estimated: adaptive sampling stops a prompt on success." : "No prompt outcomes yet."}));
  }

  // Completion lengths, accepted against rejected.
  var L = D.lengths;
  if (L.edges.length) {
    var binLabels = L.edges.slice(0, -1).map(function (e, i) { return e + "-" + (L.edges[i + 1] - 1); });
    chart("lengths", {type: "bar", data: {labels: binLabels, datasets: Object.keys(L.counts).map(function (split) {
      return {label: split + " (median " + fmt(L.summary[split].median) + ")", data: L.counts[split],
              backgroundColor: split === "accepted" ? "#59a14f" : "#e15759"};
    })}, options: {scales: {x: {title: {display: true, text: "completion length (" + L.unit + ")"}}}}});
  } else { hide("lengths"); }

  // Units: tokens per unit, samples/s and cumulative cost over the run.
  var U = D.units;
  if (U.length) {
    var sets = [{type: "bar", label: "completion tokens", data: U.map(function (u) { return u.completion_tokens; }), backgroundColor: "#76b7b2", yAxisID: "y"},
      {type: "bar", label: "prompt tokens", data: U.map(function (u) { return u.prompt_tokens; }), backgroundColor: "#bab0ac", yAxisID: "y"},
      {type: "line", label: "samples/s", data: U.map(function (u) { return u.samples_per_second; }), borderColor: "#f28e2b", yAxisID: "y1"}];
    var scales = {x: {stacked: true, title: {display: true, text: "unit, in commit order"}}, y: {stacked: true, title: {display: true, text: "tokens"}},
      y1: {position: "right", grid: {drawOnChartArea: false}, title: {display: true, text: "samples/s"}}};
    if (U[0].cumulative_cost_usd !== undefined) {
      sets.push({type: "line", label: "cumulative cost (USD)", data: U.map(function (u) { return u.cumulative_cost_usd; }), borderColor: "#b07aa1", yAxisID: "y2"});
      scales.y2 = {position: "right", grid: {drawOnChartArea: false}, title: {display: true, text: "USD"}};
    }
    chart("units", {data: {labels: U.map(function (u) { return String(u.unit).padStart(5, "0"); }), datasets: sets}, options: {scales: scales}});
  } else { hide("units"); }

  // Sample browser: one reason at a time; evidence notes, then the trace with the evidence marked.
  function trace(pieces) {
    var pre = el("pre", {"class": "trace"});
    pieces.forEach(function (p) {
      if (p[1] === null) pre.appendChild(document.createTextNode(p[0]));
      else if (p[1] === "elided") pre.appendChild(el("span", {"class": "elided", text: p[0]}));
      else pre.appendChild(el("mark", {title: p[1], "data-label": p[1], text: p[0] || "\u2307"}));
    });
    return pre;
  }
  function table(rows, cls) {
    return el("table", {"class": cls || ""}, rows.map(function (r) {
      return el("tr", {}, r.map(function (c, i) { return el(i === 0 ? "th" : "td", {text: fmt(c)}); }));
    }));
  }
  function sampleCard(row) {
    var card = el("article", {"class": "sample " + (row.accepted ? "ok" : "bad"), "data-id": row.id}, [
      el("h3", {text: row.id + (row.reasons.length ? "  \u2014  " + row.reasons.join(", ") : "  \u2014  accepted")}),
      el("p", {"class": "meta", text: "finish " + fmt(row.finish_reason) + " \u00b7 " + fmt(row.completion_tokens) + " tokens \u00b7 " + fmt(row.chars) + " characters"}),
      table([["problem", row.problem], ["gold", row.gold]], "kv")]);
    row.notes.forEach(function (n) {
      card.appendChild(el("div", {"class": "evidence"}, [el("h4", {text: n.verifier + ":" + n.reason}), table(n.items, "kv")]));
    });
    card.appendChild(trace(row.trace));
    var details = el("details", {}, [el("summary", {text: "all verdicts"}),
      table([["verifier", "status", "reason", "details"]].concat(row.verdicts.map(function (v) { return [v.name, v.status, v.reason, v.details]; })), "verdicts")]);
    card.appendChild(details);
    return card;
  }
  var picker = document.getElementById("reason"), list = document.getElementById("samples");
  var byReason = D.samples.by_reason;
  Object.keys(byReason).forEach(function (r) {
    var total = r === "accepted" ? f.accepted : (f.rejected_by_reason || {})[r];
    picker.appendChild(el("option", {value: r, text: r + "  (" + byReason[r].length + " of " + fmt(total) + ")"}));
  });
  function show(reason) {
    list.replaceChildren.apply(list, (byReason[reason] || []).map(function (id) { return sampleCard(D.samples.rows[id]); }));
  }
  picker.addEventListener("change", function () { show(picker.value); });
  if (picker.options.length) show(picker.options[0].value); else hide("samples");

  // Pairs side by side.
  var pairs = document.getElementById("pairs");
  if (D.pairs.length) {
    D.pairs.forEach(function (p) {
      pairs.appendChild(el("article", {"class": "pair"}, [el("h3", {text: p.id}), table([["problem", p.problem], ["gold", p.gold]], "kv"),
        el("div", {"class": "side"}, [el("div", {}, [el("h4", {text: "chosen"}), trace(p.chosen)]),
          el("div", {}, [el("h4", {text: "rejected: " + p.rejected_reasons.join(", ")}), trace(p.rejected)])])]));
    });
  } else { pairs.closest("section").hidden = true; }

  // The judge's calibration, only when a judge stage wrote one.
  var judge = document.getElementById("judge");
  var keys = Object.keys(D.judge);
  if (keys.length) {
    keys.forEach(function (k) {
      var v = D.judge[k];
      judge.appendChild(el("h3", {text: k}));
      var rows = Array.isArray(v) ? v : (v && Array.isArray(v.calibration) ? v.calibration : null);
      if (rows && rows.length && typeof rows[0] === "object") {
        var cols = Object.keys(rows[0]);
        judge.appendChild(table([cols].concat(rows.map(function (r) { return cols.map(function (c) { return typeof r[c] === "object" ? JSON.stringify(r[c]) : r[c]; }); }))));
      }
      if (v && !Array.isArray(v) && typeof v === "object") {
        judge.appendChild(table(Object.keys(v).filter(function (x) { return x !== "calibration"; }).map(function (x) {
          return [x, typeof v[x] === "object" ? JSON.stringify(v[x]) : v[x]]; }), "kv"));
      }
    });
  } else { judge.closest("section").hidden = true; }

  document.getElementById("footnote").textContent = "Samples: up to " + D.sampling.per_reason + " per reason and " + D.sampling.pairs +
    " pairs, seed " + D.sampling.seed + "; traces longer than " + fmt(D.sampling.trace_chars) + " characters keep their start, end and the evidence.";
  document.body.setAttribute("data-ready", "1");
})();
