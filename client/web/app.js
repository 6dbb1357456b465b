// Tessera's console: a client of the JSON API (/api/v1/, README "JSON over HTTP").
// Every value from the server is put on the page with textContent or as an attribute
// value, never as HTML: evidence is written by customers and is hostile input. The
// session lives in an HttpOnly cookie; this code only holds the CSRF token the
// server gave at sign-in, and sends it with every call.
"use strict";

(function () {
  const I18N = window.TESSERA_I18N;
  const state = { csrf: "", principal: "", roles: [], lang: "en", lastQuery: null, searchToken: "" };

  // ----- words -----
  function pickLanguage() {
    const saved = localStorage.getItem("tessera.lang");
    if (saved && I18N[saved]) return saved;
    for (const l of navigator.languages || [navigator.language || "en"]) {
      const base = String(l).slice(0, 2).toLowerCase();
      if (I18N[base]) return base;
    }
    return "en";
  }
  function t(key, values) {
    let s = (I18N[state.lang] && I18N[state.lang][key]) || I18N.en[key] || key;
    for (const [k, v] of Object.entries(values || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    const lang = document.getElementById("lang");
    // Its name is its visible text (EN/FR, WCAG 2.5.3 "label in name"); #lang-hint describes it.
    lang.textContent = t("lang.other");
    renderWho();
  }

  // ----- DOM helpers (text only) -----
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function say(text, isError) {
    const s = document.getElementById("status");
    s.textContent = text || "";
    s.className = isError ? "status error" : "status";
  }
  function day(ms) {
    const n = Number(ms);
    if (!n) return "";
    return new Date(n).toLocaleDateString(state.lang === "fr" ? "fr-FR" : "en-GB",
                                          { year: "numeric", month: "short", day: "numeric" });
  }
  function profileLink(summary) {
    return el("a", { href: "#/profile/" + encodeURIComponent(summary.id) }, summary.displayName || "#" + summary.id);
  }
  // Folds a character as the server folds words: lower case, no accents.
  function fold(c) {
    const f = c.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
    return f.length === 1 ? f : c.toLowerCase().slice(0, 1) || c;
  }
  // The snippet with the matched words in <mark>, built from text nodes only.
  function highlighted(text, words) {
    const span = el("span", { class: "snippet" });
    const folded = Array.from(text).map(fold);
    const chars = Array.from(text);
    const marks = new Array(chars.length).fill(false);
    const isWord = (c) => /[\p{L}\p{N}]/u.test(c || "");
    for (const w of (words || []).filter((x) => x && x.length > 1)) {
      const target = Array.from(w);
      for (let i = 0; i + target.length <= folded.length; i++) {
        if (isWord(folded[i - 1])) continue;  // the start of a word only
        let ok = true;
        for (let j = 0; j < target.length && ok; j++) ok = folded[i + j] === target[j];
        if (!ok) continue;
        let end = i + target.length;
        while (end < folded.length && isWord(folded[end])) end++;  // the whole word (stems match longer words)
        for (let j = i; j < end; j++) marks[j] = true;
      }
    }
    let run = "", marked = false;
    const flush = () => { if (run) span.append(marked ? el("mark", {}, run) : document.createTextNode(run)); run = ""; };
    chars.forEach((c, i) => { if (marks[i] !== marked) { flush(); marked = marks[i]; } run += c; });
    flush();
    return span;
  }

  // ----- the API -----
  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }
  async function request(method, path, body) {
    const headers = { "X-CSRF-Token": state.csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch("/api/v1/" + path, {
      method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status === 204) return {};
    let json = {};
    try { json = await r.json(); } catch (e) { json = { message: r.statusText }; }
    if (!r.ok) throw new ApiError(r.status, json.code || "", json.message || r.statusText);
    return json;
  }
  const call = (method, body) => request("POST", method, body || {});
  function failed(e) {
    if (e instanceof ApiError && e.status === 401) {
      state.csrf = "";
      say(t("error.session"), true);
      location.hash = "#/signin";
      return;
    }
    say(t("error.generic", { why: e.message }), true);
  }

  // ----- session -----
  function renderWho() {
    const who = document.getElementById("who");
    const signedIn = !!state.csrf;
    who.textContent = signedIn && state.principal ? t("signed.in", { name: state.principal }) : "";
    document.getElementById("signout").hidden = !signedIn;
    document.getElementById("nav").hidden = !signedIn;
    document.getElementById("nav-sources").hidden = !state.roles.includes("admin");
  }
  function adopt(session) {
    state.csrf = session.csrfToken || "";
    state.principal = session.principal || "";
    state.roles = session.roles || [];
    renderWho();
  }
  async function signIn(ev) {
    ev.preventDefault();
    const input = document.getElementById("token");
    const err = document.getElementById("signin-error");
    err.textContent = "";
    try {
      adopt(await request("POST", "session", { token: input.value.trim() }));
      input.value = "";
      say("");
      location.hash = "#/";
    } catch (e) {
      err.textContent = t("signin.failed", { why: e.message });
      input.focus();
    }
  }
  async function signOut() {
    try { await request("DELETE", "session"); } catch (e) { /* the cookie is cleared either way */ }
    adopt({});
    say(t("signed.out"));
    location.hash = "#/signin";
  }

  // ----- find -----
  function loadText(n) {
    if (!n) return t("expert.load0");
    return n === 1 ? t("expert.load1") : t("expert.load", { n });
  }
  function expertItem(x, rank, words, query, isInform) {
    const p = x.person;
    const li = el("li", { class: "expert" });
    const detailsId = "details-" + (isInform ? "i" : "e") + rank;
    const head = el("div", { class: "expert-head" },
      isInform ? null : el("span", { class: "rank", "aria-hidden": "true" }, rank + "."),
      el("h3", {}, profileLink(p)),
      el("span", { class: "meta" }, [p.team, p.title, p.location].filter(Boolean).join(" · ")),
      x.away ? el("span", { class: "badge away" }, t("expert.away")) : null,
      x.left ? el("span", { class: "badge left" }, t("expert.left")) : null,
      el("span", { class: "load", "data-load": x.openCases }, loadText(x.openCases)));
    li.append(head, el("p", { class: "why" }, x.why || ""));
    const details = el("div", { class: "details", id: detailsId, hidden: true });
    if ((x.evidence || []).length) {
      details.append(el("h4", {}, t("expert.evidence")));
      const ul = el("ul", { class: "evidence" });
      for (const ev of x.evidence) {
        ul.append(el("li", {},
          el("a", { href: "#/profile/" + encodeURIComponent(ev.profileId) }, ev.title || ev.kind),
          " ", el("span", { class: "meta" }, [ev.kind, day(ev.timeUnixMs)].filter(Boolean).join(", ")),
          highlighted(ev.snippet || "", ev.matchedWords && ev.matchedWords.length ? ev.matchedWords : words)));
      }
      details.append(ul);
    }
    if ((x.relationship || []).length) {
      details.append(el("h4", {}, t("expert.relationship")), el("p", {}, x.relationship.join("; ")));
    }
    const contact = el("ul", { class: "contact" },
      el("li", {}, p.email ? el("a", { href: "mailto:" + p.email }, p.email) : t("expert.noemail")));
    details.append(el("h4", {}, t("expert.contact")), contact);
    const toggle = el("button", { type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": detailsId },
      t("expert.details"));
    let phonesAsked = false;
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      details.hidden = !open;
      if (open && !phonesAsked) {
        phonesAsked = true;
        addPhones(p.id, contact);
      }
    });
    const actions = el("div", { class: "actions" }, toggle);
    if (!isInform && p.email && state.roles.includes("agent")) {
      const hand = el("button", { type: "button", class: "secondary", "data-handover": p.id }, t("expert.handover"));
      hand.addEventListener("click", () => handOver(p, query, hand));
      actions.append(hand);
    }
    li.append(actions, details);
    return li;
  }
  // Their phone numbers, as far as the reader may see them (the profile is redacted by
  // the server for the caller's role).
  async function addPhones(id, list) {
    try {
      const prof = await call("Directory/GetProfile", { id: String(id) });
      for (const i of prof.identifiers || []) {
        if (i.type === "phone") list.append(el("li", {}, el("a", { href: "tel:" + i.value }, i.value)));
      }
    } catch (e) { /* the e-mail stays; a profile the caller may not read adds nothing */ }
  }
  async function handOver(person, query, button) {
    button.disabled = true;
    const caseId = { type: "case", value: "console-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8) };
    try {
      const r = await call("Expertise/RecordOutcome", {
        case: caseId, handledBy: { type: "email", value: person.email }, status: "open", text: query.text,
        customer: query.customer, channel: query.channel,
      });
      await find(query, true);
      offerUndo(t("handover.done", { name: (r.person && r.person.displayName) || person.displayName, title: r.caseTitle || "" }),
                () => undoHandOver(r, caseId, person, query));
    } catch (e) {
      button.disabled = false;
      if (e instanceof ApiError && e.status === 401) return failed(e);
      say(t("handover.failed", { why: e.message }), true);
    }
  }
  // The status line with an Undo button, offered for UNDO_MS.
  const UNDO_MS = 20000;
  function offerUndo(text, undo) {
    const s = document.getElementById("status");
    clear(s);
    s.className = "status";
    const b = el("button", { type: "button", class: "quiet", id: "undo" }, t("handover.undo"));
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { await undo(); } catch (e) { if (e instanceof ApiError && e.status === 401) failed(e); else say(t("handover.failed", { why: e.message }), true); }
    });
    s.append(text + " ", b);
    setTimeout(() => { if (b.isConnected) b.remove(); }, UNDO_MS);
  }
  // Takes a hand-over back: the case is withdrawn from the person (and a case the
  // hand-over made from the message goes), so their load drops again.
  async function undoHandOver(r, caseId, person, query) {
    await call("Expertise/RecordOutcome", { case: caseId, handledBy: { type: "email", value: person.email }, status: "withdrawn" });
    await find(query, true);
    say(t("handover.undone", { name: (r.person && r.person.displayName) || person.displayName }));
  }
  async function find(query, keepStatus) {
    if (!keepStatus) say(t("find.searching"));
    const results = document.getElementById("results");
    const notes = document.getElementById("notes");
    const inform = document.getElementById("inform");
    try {
      const r = await call("Expertise/FindExperts", {
        text: query.text, customer: query.customer, channel: query.channel, limit: 10, replyLanguage: state.lang,
      });
      state.lastQuery = query;
      clear(results); clear(notes); clear(inform);
      for (const n of r.notes || []) notes.append(el("p", {}, n));
      const words = r.queryTerms || [];
      (r.experts || []).forEach((x, i) => results.append(expertItem(x, i + 1, words, query, false)));
      if ((r.inform || []).length) {
        const ul = el("ul", { class: "results" });
        (r.inform || []).forEach((x, i) => ul.append(expertItem(x, i + 1, words, query, true)));
        inform.append(el("h2", {}, t("inform.title")), ul);
      }
      if (!keepStatus) say((r.experts || []).length ? t("find.count", { n: r.experts.length }) : t("find.none"));
      if (query.customer) await history(query); else document.getElementById("history").hidden = true;
    } catch (e) { failed(e); }
  }
  async function history(query) {
    const aside = document.getElementById("history");
    const body = document.getElementById("history-body");
    clear(body);
    aside.hidden = false;
    let h;
    try {
      h = await call("Directory/CustomerHistory", { identifier: query.customer, channel: query.channel, limit: 20 });
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) { body.append(el("p", {}, t("history.unknown"))); return; }
      if (e instanceof ApiError && e.status === 401) return failed(e);
      body.append(el("p", { class: "error" }, e.message));
      return;
    }
    const c = h.customer || {};
    const who = el("span", { class: "meta" }, [c.kind, c.team, c.location].filter(Boolean).join(" · "));
    body.append(el("p", {}, el("strong", {}, profileLink(c)), " ", who));
    try {
      // Their segment and city (attributes of the profile, if the caller may see them).
      const prof = await call("Directory/GetProfile", { id: String(c.id) });
      const attr = (n) => ((prof.attributes || []).find((a) => a.name === n) || {}).value;
      who.textContent = [c.kind, attr("segment"), attr("city") || c.location].filter(Boolean).join(" · ");
    } catch (e) { /* the summary stands */ }
    const facts = el("dl", { class: "facts" });
    if ((h.accountManagers || []).length) {
      const dd = el("dd", {});
      h.accountManagers.forEach((m, i) => { if (i) dd.append(", "); dd.append(profileLink(m)); });
      facts.append(el("dt", {}, t("history.manager")), dd);
    }
    if ((h.channels || []).length) facts.append(el("dt", {}, t("history.channels")), el("dd", {}, h.channels.join(", ")));
    body.append(facts, el("h3", {}, t("history.items")));
    if (!(h.items || []).length) body.append(el("p", {}, t("history.none")));
    for (const it of h.items || []) {
      const who = (it.handledBy || []).map((p) => p.displayName).filter(Boolean).join(", ");
      body.append(el("div", { class: "history-item" },
        el("div", {}, el("a", { href: "#/profile/" + encodeURIComponent(it.profileId) }, it.title || it.kind)),
        el("div", { class: "meta" }, [day(it.timeUnixMs), it.channel, it.status].filter(Boolean).join(" · ")),
        who ? el("div", { class: "meta" }, t("history.handled", { names: who })) : null));
    }
    if (h.truncated) body.append(el("p", { class: "meta" }, t("history.more")));
  }
  function submitFind(ev) {
    ev.preventDefault();
    const text = document.getElementById("message").value;
    const customer = document.getElementById("customer").value.trim();
    const channel = document.getElementById("channel").value;
    find({ text, customer: customer ? { type: "", value: customer } : undefined, channel });
  }

  // ----- search -----
  let searchTimer = 0;
  async function search(more) {
    const input = document.getElementById("search-input");
    const list = document.getElementById("search-results");
    const prefix = input.value.trim();
    if (!more) { clear(list); state.searchToken = ""; }
    document.getElementById("search-more").hidden = true;
    if (!prefix) return;
    try {
      const r = await call("Directory/SearchPeople", { prefix, pageSize: 20, pageToken: more ? state.searchToken : "" });
      for (const p of r.people || []) {
        list.append(el("li", { "data-id": p.id }, profileLink(p), " ",
          el("span", { class: "meta" }, [p.kind, p.team, p.title, p.email].filter(Boolean).join(" · "))));
      }
      if (!list.children.length) list.append(el("li", {}, t("search.none")));
      if (r.truncated) list.append(el("li", { class: "meta" }, t("search.truncated")));
      state.searchToken = r.nextPageToken || "";
      document.getElementById("search-more").hidden = !state.searchToken;
    } catch (e) { failed(e); }
  }
  function searchKeys(ev) {
    // Arrow keys move through the results; Enter opens the one selected.
    const links = Array.from(document.querySelectorAll("#search-results li a"));
    if (!links.length) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      const at = links.indexOf(document.activeElement);
      const next = ev.key === "ArrowDown" ? Math.min(links.length - 1, at + 1) : Math.max(0, at - 1);
      links[at < 0 ? 0 : next].focus();
    }
  }

  // ----- profile -----
  async function showProfile(id) {
    const title = document.getElementById("profile-title");
    const body = document.getElementById("profile-body");
    clear(body);
    title.textContent = "…";
    let p;
    try {
      p = await call("Directory/GetProfile", { id: String(id), provenance: true });
    } catch (e) {
      title.textContent = e instanceof ApiError && e.status === 404 ? e.message : "";
      return failed(e);
    }
    title.textContent = p.displayName || "#" + p.id;
    body.append(el("p", { class: "meta" }, (p.kinds || [p.kind]).join(", ")));
    if ((p.redacted || []).length) body.append(el("p", { class: "meta" }, t("profile.redacted", { fields: p.redacted.join(", ") })));
    const attrs = el("dl", { class: "facts" });
    for (const a of p.attributes || []) {
      const dd = el("dd", {}, a.value);
      const sources = (a.values || []).map((v) => v.provenance && v.provenance.source).filter(Boolean);
      if (sources.length) dd.append(" ", el("span", { class: "provenance" }, "(" + Array.from(new Set(sources)).join(", ") + ")"));
      attrs.append(el("dt", {}, a.name), dd);
    }
    const ids = el("dl", { class: "facts" });
    for (const i of p.identifiers || []) {
      const from = (i.provenance || []).map((v) => v.source).filter(Boolean);
      ids.append(el("dt", {}, i.type), el("dd", {}, i.value, from.length ? el("span", { class: "provenance" }, " (" + Array.from(new Set(from)).join(", ") + ")") : null));
    }
    const recs = el("ul", {});
    for (const f of p.fragments || []) {
      recs.append(el("li", {}, f.source + " / " + f.externalId, " ", el("span", { class: "provenance" }, t("profile.from", { source: f.source, date: day(f.timeUnixMs) }))));
    }
    body.append(el("section", { class: "card" }, el("h2", {}, t("profile.attributes")), attrs),
      el("section", { class: "card" }, el("h2", {}, t("profile.identifiers")), ids),
      el("section", { class: "card" }, el("h2", {}, t("profile.sources")), recs));
    try {
      const n = await call("Directory/Neighbors", { id: String(id), limit: 50 });
      const ul = el("ul", {});
      for (const e of n.edges || []) {
        const target = e.profile && e.profile.id !== "0" ? profileLink(e.profile) : (e.target ? e.target.type + ":" + e.target.value : "");
        ul.append(el("li", {}, e.type + (e.direction === "IN" ? " ← " : " → "), target));
      }
      if ((n.edges || []).length) body.append(el("section", { class: "card" }, el("h2", {}, t("profile.relations")), ul));
    } catch (e) { /* relations are a bonus; the profile stands */ }
    if ((p.conflicts || []).length && state.roles.includes("admin")) {
      const ul = el("ul", {});
      for (const c of p.conflicts) ul.append(el("li", {}, c.type + ": " + (c.values || []).join(" / ")));
      body.append(el("section", { class: "card" }, el("h2", {}, t("profile.conflicts")), ul));
    }
    if (state.roles.includes("admin")) {
      // Merge and split rules naming one of this profile's records.
      const mine = new Set((p.fragments || []).map((f) => f.source + "\u0000" + f.externalId));
      const names = (refs) => (refs || []).map((f) => f.source + "/" + f.externalId).join(", ");
      try {
        const r = await call("Admin/ListRules", {});
        const ul = el("ul", {});
        for (const rule of r.rules || []) {
          const refs = (rule.fragments || []).concat(rule.apartFrom || []);
          if (!refs.some((f) => mine.has(f.source + "\u0000" + f.externalId))) continue;
          ul.append(el("li", {}, "#" + rule.id + " " + rule.type.toLowerCase() + ": " + names(rule.fragments) +
            (rule.apartFrom && rule.apartFrom.length ? " ≠ " + names(rule.apartFrom) : "") +
            (rule.reason ? " (" + rule.reason + ")" : "")));
        }
        if (ul.children.length) body.append(el("section", { class: "card" }, el("h2", {}, t("profile.rules")), ul));
      } catch (e) { /* the profile stands without its rules */ }
    }
  }

  // ----- sources -----
  async function showSources() {
    const tbody = document.querySelector("#sources-table tbody");
    clear(tbody);
    try {
      const r = await call("Admin/ListSources", {});
      for (const s of r.sources || []) {
        const run = s.lastRun || {};
        tbody.append(el("tr", {}, el("td", {}, s.id), el("td", {}, s.kind), el("td", {}, s.fragments),
          el("td", {}, run.finishedUnixMs && run.finishedUnixMs !== "0" ? day(run.finishedUnixMs) : t("sources.never")),
          el("td", {}, run.state || ""), el("td", {}, (run.errors || [])[0] || "")));
      }
    } catch (e) {
      if (e instanceof ApiError && e.status === 403) return say(t("forbidden"), true);
      failed(e);
    }
  }

  // ----- routing -----
  function show(view) {
    for (const v of document.querySelectorAll(".view")) v.hidden = v.id !== "view-" + view;
    for (const a of document.querySelectorAll("#nav a")) {
      const active = a.getAttribute("href") === location.hash || (view === "find" && a.getAttribute("href") === "#/");
      if (active) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
    }
  }
  async function route() {
    const hash = location.hash || "#/";
    if (!state.csrf && hash !== "#/signin") {
      try { adopt(await request("GET", "session")); } catch (e) { location.hash = "#/signin"; return; }
    }
    if (hash !== "#/signin" && hash !== "#/") say("");  // a message belongs to the screen it was said on
    const m = hash.match(/^#\/profile\/(\d{1,20})$/);
    if (hash === "#/signin") { show("signin"); document.getElementById("token").focus(); }
    else if (m) { show("profile"); await showProfile(m[1]); }
    else if (hash === "#/search") { show("search"); document.getElementById("search-input").focus(); }
    else if (hash === "#/sources") { show("sources"); await showSources(); }
    else { show("find"); }
    document.getElementById("main").focus({ preventScroll: true });
  }

  document.addEventListener("DOMContentLoaded", () => {
    state.lang = pickLanguage();
    applyLanguage();
    document.getElementById("lang").addEventListener("click", async () => {
      state.lang = state.lang === "fr" ? "en" : "fr";
      localStorage.setItem("tessera.lang", state.lang);
      applyLanguage();
      // What the screen shows was written in the other language: draw it again.
      if (!state.csrf) return;
      if (!document.getElementById("view-find").hidden) {
        if (state.lastQuery) await find(state.lastQuery);
      } else if (document.getElementById("view-signin").hidden) {
        await route();
      }
      document.getElementById("lang").focus();
    });
    document.getElementById("signin-form").addEventListener("submit", signIn);
    document.getElementById("signout").addEventListener("click", signOut);
    document.getElementById("find-form").addEventListener("submit", submitFind);
    const input = document.getElementById("search-input");
    input.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => search(false), 150); });
    document.getElementById("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); search(false); });
    document.getElementById("search-form").addEventListener("keydown", searchKeys);
    document.getElementById("search-results").addEventListener("keydown", searchKeys);
    document.getElementById("search-more").addEventListener("click", () => search(true));
    window.addEventListener("hashchange", route);
    route();
  });
})();
