// The document view: normalized text with its structure; the cited passage highlighted and scrolled to.
"use strict";

const statusBox = document.getElementById("status");
const docBox = document.getElementById("doc");

function blockNode(block) {
  if (block.kind === "heading") {
    const level = { summary: "h2", chapter: "h2", article: "h3", title: "h3", part: "h2", comparison: "h2",
                    addenda: "h2", pyeon: "h2", jang: "h2", jeol: "h3", gwan: "h3" }[block.heading] || "h4";
    return el(level, { class: "block heading" }, block.text);
  }
  if (block.kind === "caption") return el("p", { class: "block caption" }, block.text);
  if (block.kind === "table_row") return el("p", { class: "block row" }, block.text);
  if (block.kind === "footnote") return el("p", { class: "block footnote" }, block.text);
  return el("p", { class: "block text" + (block.summary ? " summary" : "") }, block.text);
}

async function main() {
  const parts = location.pathname.split("/");
  const docId = decodeURIComponent(parts[2] || "");
  const params = new URLSearchParams(location.search);
  const start = Number(params.get("start"));
  const end = Number(params.get("end"));
  const cited = params.has("start") && params.has("end") && end > start;
  let doc;
  try {
    doc = await api("/documents/" + encodeURIComponent(docId));
  } catch (err) {
    statusBox.textContent = err.status === 404 ? "문서를 찾을 수 없습니다: " + docId : err.message;
    statusBox.className = "status error";
    docBox.setAttribute("aria-busy", "false");
    return;
  }
  document.title = doc.title + " — briefsearch";
  const header = el("header", { class: "doc-header" },
    el("h1", {}, doc.title),
    el("p", { class: "meta" }, [doc.date, doc.publisher, doc.source].filter(Boolean).join(" · ")));
  const body = el("div", { class: "doc-body" });
  let first = null;
  for (const block of doc.blocks) {
    const node = blockNode(block);
    node.dataset.start = block.start;
    node.dataset.end = block.end;
    if (cited && block.kind !== "heading" && block.start < end && block.end > start) {
      node.classList.add("cited");
      if (!first) first = node;
    }
    body.append(node);
  }
  docBox.replaceChildren(header, body);
  docBox.setAttribute("aria-busy", "false");
  statusBox.textContent = cited ? "인용된 문단이 강조 표시되어 있습니다." : "";
  statusBox.className = "status";
  if (first) {
    first.setAttribute("tabindex", "-1");
    first.scrollIntoView({ block: "center" });
    first.focus({ preventScroll: true });
  }
}

main();
