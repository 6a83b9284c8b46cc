// Trellis web console: live updates for pages that work without this script.
// - every page: "12 s ago" times tick;
// - Tendrils: polls /console/live/workers and changes the rows in place (status, heartbeat,
//   version, job types, current job), adds new workers and removes deleted ones;
// - Jobs: polls /console/live/jobs with the page's filter and keeps the table in the server's
//   order: status, worker and duration change in place, new jobs come in at the top, jobs the
//   filter no longer keeps leave;
// - a job: follows its log stream (server-sent events) while the window shown is the last one,
//   and reloads the summary fragment until the job has ended.
"use strict";
(function () {
  var POLL_MS = 1000;

  function spanText(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }
  function tickTimes() {
    var now = Date.now();
    document.querySelectorAll("time[data-ago]").forEach(function (t) {
      var at = Date.parse(t.getAttribute("datetime"));
      if (!isNaN(at)) t.textContent = spanText((now - at) / 1000) + " ago";
    });
    document.querySelectorAll("time[data-since]").forEach(function (t) {
      var at = Date.parse(t.getAttribute("datetime"));
      if (!isNaN(at)) t.textContent = spanText((now - at) / 1000);
    });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function badge(status) {
    return el("span", { "class": "badge s-" + status.toLowerCase(), "data-status": status }, status);
  }
  function agoNode(iso) {
    if (!iso) return el("span", { "class": "muted" }, "never");
    var t = el("time", { datetime: iso, title: iso, "data-ago": "" }, "");
    t.textContent = spanText((Date.now() - Date.parse(iso)) / 1000) + " ago";
    return t;
  }
  function setCell(cell, node) {
    cell.replaceChildren(node);
  }
  function labelsText(labels) {
    return Object.keys(labels || {}).map(function (k) { return labels[k] ? k + "=" + labels[k] : k; }).join(", ");
  }

  // ---- Tendrils
  function workerCells(tr, w) {
    var st = tr.querySelector(".w-status");
    var current = st.querySelector(".badge");
    if (!current || current.getAttribute("data-status") !== w.status) setCell(st, badge(w.status));
    tr.querySelector(".w-version").textContent = w.info ? w.info.version : "—";
    tr.querySelector(".w-types").textContent = w.info ? w.info.job_types.join(", ") : "all";
    tr.querySelector(".w-labels").textContent = labelsText(w.labels);
    tr.querySelector(".w-mode").textContent = w.mode;
    var hb = tr.querySelector(".w-heartbeat");
    var t = hb.querySelector("time");
    if (!t || t.getAttribute("datetime") !== w.last_heartbeat_at) setCell(hb, agoNode(w.last_heartbeat_at));
    var job = tr.querySelector(".w-job");
    var link = job.querySelector("a");
    var want = w.current_job_id ? "/jobs/" + w.current_job_id : null;
    if ((link ? link.getAttribute("href") : null) !== want) {
      if (want) {
        var a = el("a", { href: want });
        a.appendChild(el("code", { title: w.current_job_id }, w.current_job_id.slice(0, 8)));
        setCell(job, a);
      } else setCell(job, el("span", { "class": "muted" }, "none"));
    }
    tr.hidden = !!(tr.closest("table").dataset.filter && tr.closest("table").dataset.filter !== w.status);
  }
  function newWorkerRow(table, w) {
    var tr = el("tr", { "data-worker-id": w.id });
    var name = el("th", { scope: "row", "data-label": "Name", "class": "w-name" }, w.name + " ");
    name.appendChild(el("span", { "class": "muted" }, "(" + w.team + ")"));
    tr.appendChild(name);
    [["Status", "w-status"], ["Mode", "w-mode"], ["Version", "w-version"], ["Labels", "w-labels"],
     ["Job types", "w-types"], ["Last heartbeat", "w-heartbeat"], ["Current job", "w-job"]].forEach(function (c) {
      tr.appendChild(el("td", { "data-label": c[0], "class": c[1] }));
    });
    var tpl = document.getElementById("remove-template");
    if (table.dataset.admin === "1" && tpl) {
      var td = el("td", { "data-label": "Actions", "class": "w-actions" });
      var form = tpl.content.firstElementChild.cloneNode(true);
      form.setAttribute("action", "/tendrils/" + w.id + "/remove");
      form.querySelector("button").setAttribute("aria-label", "Remove " + w.name);
      td.appendChild(form);
      tr.appendChild(td);
    }
    return tr;
  }
  function pollWorkers(table) {
    var body = table.tBodies[0];
    function once() {
      fetch("/console/live/workers", { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 401) { window.location.assign("/sign-in?next=/tendrils"); throw new Error("signed out"); }
          return r.json();
        })
        .then(function (list) {
          var seen = {};
          list.workers.forEach(function (w) {
            seen[w.id] = true;
            var tr = body.querySelector('tr[data-worker-id="' + w.id + '"]');
            if (!tr) {
              if (table.dataset.filter && table.dataset.filter !== w.status) return;
              tr = newWorkerRow(table, w);
              body.appendChild(tr);
              var none = document.getElementById("no-workers");
              if (none) none.remove();
            }
            workerCells(tr, w);
          });
          Array.prototype.slice.call(body.rows).forEach(function (tr) {
            if (!seen[tr.getAttribute("data-worker-id")]) tr.remove();
          });
        })
        .catch(function () {})
        .then(function () { setTimeout(once, POLL_MS); });
    }
    setTimeout(once, POLL_MS);
  }

  // ---- Jobs
  function shortCode(id) {
    return el("code", { title: id }, id.slice(0, 8));
  }
  function noneNode() {
    return el("span", { "class": "muted" }, "none");
  }
  function durationNode(j) {
    if (!j.started_at) return document.createTextNode("not started");
    if (!j.finished_at) {
      var t = el("time", { datetime: j.started_at, "data-since": "" }, "");
      t.textContent = spanText((Date.now() - Date.parse(j.started_at)) / 1000);
      return t;
    }
    return document.createTextNode(spanText((Date.parse(j.finished_at) - Date.parse(j.started_at)) / 1000));
  }
  function newJobRow(j) {
    var tr = el("tr", { "data-job-id": j.id });
    var head = el("th", { scope: "row", "data-label": "Job", "class": "j-id" });
    var a = el("a", { href: "/jobs/" + j.id });
    a.appendChild(shortCode(j.id));
    head.appendChild(a);
    tr.appendChild(head);
    [["Status", "j-status"], ["Type", "j-type"], ["Identity", "j-identity"], ["Worker", "j-worker"],
     ["Age", "j-age"], ["Duration", "j-duration"]].forEach(function (c) {
      tr.appendChild(el("td", { "data-label": c[0], "class": c[1] }));
    });
    tr.querySelector(".j-type").textContent = j.type;
    var ident = tr.querySelector(".j-identity");
    if (j.cloud_identity_id) {
      var link = el("a", { href: "/identities/" + j.cloud_identity_id });
      link.appendChild(shortCode(j.cloud_identity_id));
      ident.appendChild(link);
    } else ident.appendChild(noneNode());
    tr.querySelector(".j-age").appendChild(agoNode(j.created_at));
    return tr;
  }
  function jobCells(tr, j) {
    var st = tr.querySelector(".j-status");
    var current = st.querySelector(".badge");
    if (!current || current.getAttribute("data-status") !== j.status) setCell(st, badge(j.status));
    var worker = tr.querySelector(".j-worker");
    var code = worker.querySelector("code");
    if ((code ? code.getAttribute("title") : null) !== (j.worker_id || null)) {
      setCell(worker, j.worker_id ? shortCode(j.worker_id) : noneNode());
    }
    var dur = tr.querySelector(".j-duration");
    var key = (j.started_at || "") + "/" + (j.finished_at || "");
    if (dur.dataset.key !== key) {
      setCell(dur, durationNode(j));
      dur.dataset.key = key;
    }
  }
  function pollJobs(table) {
    var body = table.tBodies[0];
    var query = new URLSearchParams();
    if (table.dataset.status) query.set("status", table.dataset.status);
    if (table.dataset.type) query.set("type", table.dataset.type);
    var here = "/jobs" + (query.toString() ? "?" + query.toString() : "");
    var note = document.getElementById("live-note");
    if (note) note.hidden = false;
    body.querySelectorAll("tr[data-job-id]").forEach(function (tr) {
      var dur = tr.querySelector(".j-duration");
      if (dur) dur.dataset.key = "?";
    });
    function once() {
      fetch("/console/live/jobs?" + query.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 401) { window.location.assign("/sign-in?next=" + encodeURIComponent(here)); throw new Error("signed out"); }
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (list) {
          var keep = {};
          list.jobs.forEach(function (j, i) {
            keep[j.id] = true;
            var tr = body.querySelector('tr[data-job-id="' + j.id + '"]');
            if (!tr) tr = newJobRow(j);
            jobCells(tr, j);
            if (body.rows[i] !== tr) body.insertBefore(tr, body.rows[i] || null);
          });
          Array.prototype.slice.call(body.rows).forEach(function (tr) {
            if (!keep[tr.getAttribute("data-job-id")]) tr.remove();
          });
          table.hidden = body.rows.length === 0;
          var none = document.getElementById("no-jobs");
          if (none) none.hidden = body.rows.length > 0;
        })
        .catch(function () {})
        .then(function () { setTimeout(once, POLL_MS); });
    }
    setTimeout(once, POLL_MS);
  }

  // ---- A job: ANSI colours like console/ansi.rs
  function ansiLine(text) {
    var frag = document.createDocumentFragment();
    var st = {};
    var re = /\u001b\[([0-9;]*)([@-~])/g;
    var last = 0, m;
    function classes() {
      var c = [];
      if (st.fg !== undefined) c.push("a-f" + st.fg);
      if (st.bg !== undefined) c.push("a-g" + st.bg);
      if (st.b) c.push("a-b"); if (st.d) c.push("a-d"); if (st.i) c.push("a-i"); if (st.u) c.push("a-u");
      return c.join(" ");
    }
    function push(s) {
      s = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
      if (!s) return;
      var c = classes();
      if (c) { frag.appendChild(el("span", { "class": c }, s)); } else frag.appendChild(document.createTextNode(s));
    }
    while ((m = re.exec(text)) !== null) {
      push(text.slice(last, m.index));
      last = re.lastIndex;
      if (m[2] !== "m") continue;
      var ps = m[1] === "" ? [0] : m[1].split(";").map(Number);
      for (var i = 0; i < ps.length; i++) {
        var p = ps[i];
        if (p === 0) st = {};
        else if (p === 1) st.b = true; else if (p === 2) st.d = true; else if (p === 3) st.i = true; else if (p === 4) st.u = true;
        else if (p === 22) { st.b = false; st.d = false; } else if (p === 23) st.i = false; else if (p === 24) st.u = false;
        else if (p >= 30 && p <= 37) st.fg = p - 30; else if (p >= 90 && p <= 97) st.fg = p - 90 + 8; else if (p === 39) delete st.fg;
        else if (p >= 40 && p <= 47) st.bg = p - 40; else if (p >= 100 && p <= 107) st.bg = p - 100 + 8; else if (p === 49) delete st.bg;
        else if (p === 38 || p === 48) i += ps[i + 1] === 5 ? 2 : ps[i + 1] === 2 ? 4 : 0;
      }
    }
    push(text.slice(last));
    return frag;
  }
  function logLine(l) {
    var cls = l.stream === "stderr" ? "stderr" : l.stream === "system" ? "system" : "stdout";
    var li = el("li", { id: "L" + l.seq, "class": "l-" + cls });
    li.appendChild(el("a", { "class": "ln", href: "#L" + l.seq, "aria-label": "line " + l.seq }, String(l.seq)));
    if (cls !== "stdout") li.appendChild(el("span", { "class": "st" }, cls));
    var tx = el("span", { "class": "tx" });
    tx.appendChild(ansiLine(l.text));
    li.appendChild(tx);
    return li;
  }
  var MAX_LINES = 5000;
  function followLog(log) {
    var follow = document.getElementById("follow");
    if (follow) follow.closest("label").hidden = false;
    var after = Number(log.dataset.afterSeq || "0");
    var es = new EventSource("/console/live/jobs/" + log.dataset.jobId + "/stream?after_seq=" + after);
    es.addEventListener("log", function (ev) {
      var l = JSON.parse(ev.data);
      if (l.seq <= after) return;
      after = l.seq;
      log.dataset.afterSeq = String(after);
      log.appendChild(logLine(l));
      while (log.children.length > MAX_LINES) log.removeChild(log.firstElementChild);
      var total = document.getElementById("log-total");
      if (total && Number(total.textContent) < after) total.textContent = String(after);
      if (!follow || follow.checked) log.scrollTop = log.scrollHeight;
    });
    es.addEventListener("end", function () {
      es.close();
      log.dataset.follow = "0";
      refreshSummary(true);
    });
  }
  function refreshSummary(once) {
    var summary = document.getElementById("job-summary");
    if (!summary) return;
    var url = window.location.pathname + "?part=summary";
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("job-summary");
        if (!fresh) return;
        var current = document.getElementById("job-summary");
        if (current.dataset.version !== fresh.dataset.version) {
          current.replaceChildren.apply(current, Array.prototype.slice.call(fresh.childNodes).map(function (n) {
            return document.importNode(n, true);
          }));
        }
        current.dataset.version = fresh.dataset.version;
        current.dataset.status = fresh.dataset.status;
        current.dataset.terminal = fresh.dataset.terminal;
        tickTimes();
        var end = document.getElementById("log-end");
        if (fresh.dataset.terminal === "1" && end) end.textContent = "End of the log (the job is " + fresh.dataset.status + ").";
        if (fresh.dataset.terminal !== "1" && !once) setTimeout(function () { refreshSummary(false); }, POLL_MS);
      })
      .catch(function () { if (!once) setTimeout(function () { refreshSummary(false); }, POLL_MS * 3); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tickTimes();
    setInterval(tickTimes, 1000);
    var workers = document.getElementById("workers");
    if (workers) pollWorkers(workers);
    var jobs = document.getElementById("jobs");
    if (jobs && document.body.dataset.page === "jobs") pollJobs(jobs);
    var log = document.getElementById("log");
    if (log) {
      if (log.dataset.follow === "1") { followLog(log); log.scrollTop = log.scrollHeight; }
      var summary = document.getElementById("job-summary");
      if (summary && summary.dataset.terminal !== "1") setTimeout(function () { refreshSummary(false); }, POLL_MS);
    }
  });
})();
