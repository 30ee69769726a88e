// The sample browser: filters, pages and shows the embedded samples. Every piece of model or
// verifier text goes on screen through textContent (it is untrusted), never innerHTML.
(function () {
  "use strict";
  const samples = JSON.parse(document.getElementById("samples-data").textContent);
  const prompts = JSON.parse(document.getElementById("prompts-data").textContent);
  const PAGE = 50;
  const $ = (id) => document.getElementById(id);
  const word = $("browser").dataset.groupWord;
  $("group-label").textContent = word;
  $("across-title").textContent = "the same task in every " + word;
  let page = 0, shown = samples;

  function verdict(s) { return s.e ? "error" : (s.p ? "passed" : "failed"); }
  function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); return td; }
  function fill(select, values) { for (const v of values) { const o = document.createElement("option"); o.value = v; o.textContent = v; select.appendChild(o); } }
  fill($("f-group"), [...new Set(samples.map((s) => s.g))]);
  fill($("f-stage"), [...new Set(samples.map((s) => s.s).filter(Boolean))].sort());

  function matches(s, f) {
    if (f.verdict === "kept" ? !s.k : (f.verdict && verdict(s) !== f.verdict)) return false;
    if (f.group && s.g !== f.group) return false;
    if (f.stage && s.s !== f.stage) return false;
    if (f.reward !== null && !(s.r !== null && s.r >= f.reward)) return false;
    if (f.search) {
      const q = f.search.toLowerCase();
      if (!(s.t.toLowerCase().includes(q) || s.x.toLowerCase().includes(q) || (prompts[s.t] || "").toLowerCase().includes(q))) return false;
    }
    return true;
  }

  function row(tbody, s, withTask) {
    const tr = document.createElement("tr");
    const v = verdict(s);
    cell(tr, s.g);
    if (withTask) cell(tr, s.t);
    cell(tr, String(s.i));
    cell(tr, s.r === null ? "—" : Number(s.r).toFixed(2));
    cell(tr, v + (s.k ? " · kept" : ""), v === "passed" ? "pass" : v === "failed" ? "fail" : "err");
    if (withTask) cell(tr, s.s);
    cell(tr, s.x.slice(0, 160), "snip");
    tr.addEventListener("click", () => show(s));
    tbody.appendChild(tr);
  }

  function render() {
    const tbody = $("sample-rows");
    tbody.replaceChildren();
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(page, pages - 1);
    for (const s of shown.slice(page * PAGE, page * PAGE + PAGE)) row(tbody, s, true);
    $("count").textContent = shown.length + " of " + samples.length + " samples";
    $("page").textContent = "page " + (page + 1) + " / " + pages;
  }

  function apply() {
    const r = $("f-reward").value;
    const f = { verdict: $("f-verdict").value, group: $("f-group").value, stage: $("f-stage").value,
                reward: r === "" ? null : Number(r), search: $("f-search").value.trim() };
    shown = samples.filter((s) => matches(s, f));
    page = 0;
    render();
  }

  function show(s) {
    $("detail").hidden = false;
    $("detail-title").textContent = s.t + " · sample " + s.i + " · " + s.g;
    $("detail-prompt").textContent = prompts[s.t] || "";
    $("detail-completion").textContent = s.x;
    $("detail-verdict").textContent = "reward: " + (s.r === null ? "— (could not verify)" : s.r) + "\nverdict: " + verdict(s) +
      (s.k ? " (kept for training)" : "") + "\nstage: " + (s.s || "—") + (s.e ? "\nerror: " + s.e : "");
    $("detail-details").textContent = s.d;
    const across = $("across-rows");
    across.replaceChildren();
    for (const o of samples.filter((o) => o.t === s.t)) row(across, o, false);
    $("detail").scrollIntoView({ block: "start" });
  }

  for (const id of ["f-verdict", "f-group", "f-stage"]) $(id).addEventListener("change", apply);
  for (const id of ["f-reward", "f-search"]) $(id).addEventListener("input", apply);
  $("prev").addEventListener("click", () => { page = Math.max(0, page - 1); render(); });
  $("next").addEventListener("click", () => { page += 1; render(); });
  render();
})();
