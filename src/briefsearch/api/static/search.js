// The search page: query in the URL, answer card, ranked passages with sources, mode switch.
"use strict";

const form = document.getElementById("search-form");
const input = document.getElementById("q");
const statusBox = document.getElementById("status");
const answerBox = document.getElementById("answer");
const resultsBox = document.getElementById("results");
const keyBox = document.getElementById("key-box");
let documentsById = {};
let current = 0;

function selectedMode() {
  return form.querySelector("input[name=mode]:checked").value;
}

function setStatus(text, kind) {
  statusBox.textContent = text || "";
  statusBox.className = "status" + (kind ? " " + kind : "");
}

async function loadDocuments() {
  try {
    const docs = await api("/documents");
    documentsById = Object.fromEntries(docs.map(d => [d.doc_id, d]));
  } catch (err) { documentsById = {}; }
}

function renderAnswer(ask) {
  answerBox.replaceChildren();
  if (!ask || !ask.answerable) { answerBox.hidden = true; return; }
  const body = el("p", { class: "answer-text" });
  const parts = ask.answer.split(/(\[\d+\])/);
  for (const part of parts) {
    const m = part.match(/^\[(\d+)\]$/);
    if (m) {
      const c = ask.citations[Number(m[1]) - 1];
      body.append(el("a", { class: "cite", href: viewUrl(c.doc_id, c.char_start, c.char_end),
                             title: c.title + " — " + c.section }, "[" + m[1] + "]"));
    } else if (part) {
      body.append(document.createTextNode(part));
    }
  }
  const sources = el("ol", { class: "answer-sources" },
    ask.citations.map(c => el("li", {}, el("a", { href: viewUrl(c.doc_id, c.char_start, c.char_end) }, c.title),
                               " — " + (c.section || "") + (c.page ? ", p. " + c.page : ""))));
  answerBox.append(el("h2", {}, "답변"), body, sources);
  answerBox.hidden = false;
}

function renderResults(search) {
  resultsBox.replaceChildren();
  if (!search.results.length) {
    setStatus("검색 결과가 없습니다. 다른 표현이나 검색 방식을 시도해 보세요.", "empty");
    return;
  }
  setStatus(search.results.length + "개 문단 · " + Math.round(search.took_ms) + " ms");
  for (const r of search.results) {
    const doc = documentsById[r.doc_id] || {};
    const c = r.citation;
    const meta = [doc.date, doc.publisher, c.page ? "p. " + c.page : null, "줄 " + c.line_start + "–" + c.line_end]
      .filter(Boolean).join(" · ");
    const card = el("article", { class: "result", "data-doc": r.doc_id },
      el("h3", {}, el("span", { class: "rank" }, r.rank + "."), " ", r.title),
      r.section ? el("p", { class: "section" }, r.section) : null,
      el("p", { class: "meta" }, meta),
      el("p", { class: "passage" }, highlighted(r.text, r.matched_terms)),
      el("p", { class: "links" },
        el("a", { class: "open-source", href: viewUrl(r.doc_id, c.char_start, c.char_end) }, "원문에서 보기"),
        r.duplicates && r.duplicates.length ? el("span", { class: "dup" }, " · 요약/본문 중복 " + r.duplicates.length + "건") : null),
    );
    resultsBox.append(card);
  }
}

async function run(query, mode, push) {
  const id = ++current;
  query = query.trim();
  if (push) {
    const params = new URLSearchParams({ q: query, mode });
    history.pushState({}, "", query ? "/?" + params.toString() : "/");
  }
  if (!query) {
    answerBox.hidden = true;
    resultsBox.replaceChildren();
    setStatus("검색어를 입력하세요.", "hint");
    input.focus();
    return;
  }
  document.title = query + " — briefsearch";
  resultsBox.setAttribute("aria-busy", "true");
  resultsBox.classList.add("loading");
  setStatus("검색 중…", "busy");
  try {
    const searchCall = api("/search", { method: "POST", body: JSON.stringify({ query, k: 10, mode }) });
    const askCall = api("/ask", { method: "POST", body: JSON.stringify({ question: query, k: 5, mode }) })
      .catch(() => null);  // the answer card is optional; the passages are what matters
    const [search, ask] = await Promise.all([searchCall, askCall]);
    if (id !== current) return;
    renderResults(search);
    renderAnswer(ask);
    keyBox.hidden = true;
  } catch (err) {
    if (id !== current) return;
    answerBox.hidden = true;
    resultsBox.replaceChildren();
    setStatus(err.message, "error");
    if (err.status === 401) keyBox.hidden = false;
  } finally {
    if (id === current) {
      resultsBox.setAttribute("aria-busy", "false");
      resultsBox.classList.remove("loading");
    }
  }
}

function fromUrl() {
  const params = new URLSearchParams(location.search);
  const q = params.get("q") || "";
  const mode = params.get("mode") || "hybrid";
  input.value = q;
  const radio = form.querySelector("input[name=mode][value='" + mode + "']");
  if (radio) radio.checked = true;
  if (q) run(q, mode, false); else { resultsBox.replaceChildren(); answerBox.hidden = true; setStatus(""); }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  run(input.value, selectedMode(), true);
});
form.querySelectorAll("input[name=mode]").forEach(radio =>
  radio.addEventListener("change", () => { if (input.value.trim()) run(input.value, selectedMode(), true); }));
document.getElementById("save-key").addEventListener("click", () => {
  localStorage.setItem("briefsearch-api-key", document.getElementById("api-key").value.trim());
  keyBox.hidden = true;
  run(input.value, selectedMode(), false);
});
window.addEventListener("popstate", fromUrl);
loadDocuments().then(fromUrl);
