// Shared helpers: API calls with an optional key, safe text rendering, highlighting.
"use strict";

function apiHeaders() {
  const headers = { "Content-Type": "application/json" };
  const key = localStorage.getItem("briefsearch-api-key");
  if (key) headers["Authorization"] = "Bearer " + key;
  return headers;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { ...options, headers: apiHeaders() });
  } catch (err) {
    throw new ApiError(0, "서비스에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.");
  }
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (!response.ok) {
    const detail = body && body.detail ? (typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail)) : response.statusText;
    if (response.status === 401) throw new ApiError(401, "API 키가 필요하거나 올바르지 않습니다.");
    if (response.status >= 500) throw new ApiError(response.status, "서비스에 일시적인 문제가 있습니다. (" + response.status + ")");
    throw new ApiError(response.status, "요청을 처리할 수 없습니다: " + detail);
  }
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v; else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Text with every occurrence of the given terms wrapped in <mark> (no innerHTML: safe for any text).
function highlighted(text, terms) {
  const wanted = [...new Set((terms || []).filter(t => t && t.trim().length > 0))].sort((a, b) => b.length - a.length);
  if (!wanted.length) return [document.createTextNode(text)];
  const escaped = wanted.map(t => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const pattern = new RegExp("(" + escaped.join("|") + ")", "gi");
  const out = [];
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    out.push(el("mark", {}, m[0]));
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

function viewUrl(docId, start, end) {
  const params = new URLSearchParams();
  if (start !== undefined && end !== undefined) { params.set("start", start); params.set("end", end); }
  const qs = params.toString();
  return "/documents/" + encodeURIComponent(docId) + "/view" + (qs ? "?" + qs : "");
}
