// The dashboard's page script: live rows from /watch (server-sent events),
// sorting and filtering of tables, the namespace switcher, a pod's log from
// /logs, and the actions (with confirmation). No framework, no build step.
"use strict";

function tables() {
  return Array.from(document.querySelectorAll("table.objects[data-kind]"));
}

function fromHTML(html) {
  const t = document.createElement("tbody");
  t.innerHTML = html;
  return t.firstElementChild;
}

function applyFilter() {
  const box = document.getElementById("filter");
  const text = box ? box.value.trim().toLowerCase() : "";
  for (const row of document.querySelectorAll("table.objects tbody tr")) {
    row.hidden = text !== "" && !row.textContent.toLowerCase().includes(text);
  }
}

function count(table) {
  const badge = table.closest("section").querySelector(".count");
  if (badge) badge.textContent = table.tBodies[0].rows.length;
}

function follow(all) {
  // One stream for every table of the page: a browser opens at most six
  // connections to a host, and actions need one too.
  if (all.length === 0) return;
  const q = new URLSearchParams({ ns: all[0].dataset.namespace });
  all.forEach((t) => q.append("table", t.dataset.kind + "@" + t.dataset.rv));
  const source = new EventSource("/watch?" + q);
  source.addEventListener("row", (e) => {
    const change = JSON.parse(e.data);
    const table = all.find((t) => t.dataset.kind === change.table);
    if (!table) return;
    const body = table.tBodies[0];
    const old = Array.from(body.rows).find((r) => r.dataset.key === change.key);
    if (change.type === "DELETED") {
      if (old) old.remove();
    } else if (old) {
      old.replaceWith(fromHTML(change.html));
    } else {
      body.appendChild(fromHTML(change.html));
    }
    count(table);
    applyFilter();
    sortAgain(table);
  });
  source.addEventListener("relist", () => { source.close(); location.reload(); });
}

function cellValue(row, i) {
  const text = row.cells[i] ? row.cells[i].textContent : "";
  const n = parseFloat(text);
  return /^\d/.test(text) && !Number.isNaN(n) ? n : text.toLowerCase();
}

function sortBy(table, i, descending) {
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const x = cellValue(a, i), y = cellValue(b, i);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
  rows.forEach((r) => body.appendChild(r));
  table.dataset.sortColumn = i;
  table.dataset.sortDescending = descending ? "1" : "";
  table.querySelectorAll("th").forEach((th, j) => {
    th.className = j === i ? (descending ? "sorted-desc" : "sorted-asc") : "";
  });
}

function sortAgain(table) {
  if (table.dataset.sortColumn !== undefined) {
    sortBy(table, Number(table.dataset.sortColumn), !!table.dataset.sortDescending);
  }
}

function sortable(table) {
  table.querySelectorAll("th").forEach((th, i) => {
    th.addEventListener("click", () => {
      const again = table.dataset.sortColumn === String(i) && !table.dataset.sortDescending;
      sortBy(table, i, again);
    });
  });
}

async function act(action, extra) {
  const detail = document.getElementById("detail");
  const target = JSON.parse(detail.dataset.target);
  const answer = await fetch("/actions/" + action, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Shoal-Dashboard": "1" },
    body: JSON.stringify(Object.assign({}, target, extra || {})),
  });
  const body = await answer.json();
  const message = document.getElementById("message");
  message.textContent = body.message || body.error;
  message.className = answer.ok ? "ok" : "error";
  return answer.ok;
}

function actions() {
  const detail = document.getElementById("detail");
  if (!detail) return;
  const target = JSON.parse(detail.dataset.target);
  const scale = document.getElementById("scale");
  if (scale) {
    scale.addEventListener("click", () => {
      act("scale", { replicas: Number(document.getElementById("replicas").value) });
    });
  }
  const restart = document.getElementById("restart");
  if (restart) {
    restart.addEventListener("click", () => {
      if (confirm(`Restart ${target.kind} ${target.name}?`)) act("restart");
    });
  }
  const del = document.getElementById("delete");
  if (del) {
    del.addEventListener("click", async () => {
      if (confirm(`Delete ${target.kind} ${target.name}? This cannot be undone.`)) {
        if (await act("delete")) del.disabled = true;
      }
    });
  }
  const pre = document.getElementById("logs");
  if (pre) {
    let source = null;
    const select = document.getElementById("container");
    const open = () => {
      if (source) source.close();
      pre.textContent = "";
      const q = new URLSearchParams({ ns: target.namespace, pod: target.name, container: select.value });
      source = new EventSource("/logs?" + q);
      source.addEventListener("line", (e) => {
        const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.textContent += JSON.parse(e.data) + "\n";
        if (atEnd) pre.scrollTop = pre.scrollHeight;
      });
      source.addEventListener("failed", (e) => {
        pre.textContent += "[" + JSON.parse(e.data) + "]\n";
        source.close();
      });
    };
    select.addEventListener("change", open);
    open();
  }
}

function switcher() {
  const select = document.getElementById("namespace");
  if (!select) return;
  select.addEventListener("change", () => {
    const q = new URLSearchParams({ view: select.dataset.view, ns: select.value });
    location.href = "/?" + q;
  });
}

tables().forEach(sortable);
follow(tables());
const filterBox = document.getElementById("filter");
if (filterBox) filterBox.addEventListener("input", applyFilter);
switcher();
actions();
