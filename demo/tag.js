// A minimal tag for the demo site: asks /v1/decide for this page, renders each engagement in
// its zone, reports lifecycle events with navigator.sendBeacon, refreshes button states, and
// drives the demo panel. Plain JavaScript, no build step.
(() => {
  const ACCOUNT = "demo";
  const SITE = "https://www.demo-outfitters.example";
  const PAGES = {
    "/demo": { title: "Demo Outfitters", blurb: "Outdoor gear since 1998.", path: "/", sections: [] },
    "/demo/shop/boots": { title: "Boots", blurb: "Walking, hiking and trail boots.", path: "/shop/boots", sections: ["shop"] },
    "/demo/p/trail-boot-42": { title: "Trail boot 42", blurb: "Waterproof, 610 g.", path: "/p/trail-boot-42", sections: [] },
    "/demo/help": { title: "Help centre", blurb: "Delivery, returns and sizing.", path: "/help", sections: ["help"] },
  };
  const page = PAGES[location.pathname.replace(/\/$/, "")] || PAGES["/demo"];
  const $ = (id) => document.getElementById(id);
  const rand = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  const store = (key, storage) => storage.getItem(key) || (storage.setItem(key, rand()), storage.getItem(key));
  const visitorId = store("ee_visitor", localStorage);
  let visitId = store("ee_visit", sessionStorage);
  const pageId = rand();
  const country = $("country");
  country.value = localStorage.getItem("ee_country") || "GB";
  $("token").value = localStorage.getItem("ee_token") || "";
  $("title").textContent = page.title;
  $("blurb").textContent = page.blurb;
  const shown = new Map();

  let pageContextId = "";

  // Events as lpTag hands them to events.bind (seed 004), sent as they are (R-D9).
  function beacon(event, e) {
    const body = JSON.stringify({
      account: ACCOUNT, visitId, eventName: event, appName: "LP_OFFERS",
      contexts: [{ EngagementContext: { id: e.contextId } }, { pageContext: { id: pageContextId } }],
      campaignId: e.campaignId, engagementId: e.engagementId, engagementRevision: e.engagementRevision,
      engagementType: e.engagementType, zoneId: e.zoneId, state: e.state, confKey: e.confKey,
      tglName: e.tglName, engagementName: e.engagementName,
    });
    navigator.sendBeacon("/v1/events", new Blob([body], { type: "text/plain" }));
  }

  // R-D10: the creative of the state the engagement is in; the engagement name when the
  // snapshot defines none.
  function paint(card, e) {
    const c = (e.creatives && (e.creatives[e.stateName] || e.creatives.online)) || { title: e.engagementName };
    card.className = `card state-${e.stateName} tgl-${e.tglName}`;
    card.querySelector(".name").textContent = c.title || "";
    card.querySelector(".text").textContent = c.text || "";
    const img = card.querySelector("img");
    img.hidden = !c.imageUrl;
    if (c.imageUrl) img.src = c.imageUrl;
    card.querySelector(".meta").textContent = `${e.format} · ${e.channel} · ${e.stateName}`;
    card.querySelector(".go").textContent = c.callToAction || (e.channel === "clickToCall" ? "Call me" : "Chat now");
  }

  function render(e) {
    const zone = document.querySelector(`[data-zone="${e.zoneId}"]`);
    if (!zone) return;
    zone.innerHTML = "";
    const card = document.createElement("div");
    card.dataset.engagement = e.engagementId;
    card.setAttribute("role", e.proactive ? "dialog" : "region");
    card.setAttribute("aria-label", e.engagementName);
    card.innerHTML = `<button class="close" type="button" aria-label="Close">×</button>
      <img alt="" hidden><div class="name"></div><div class="text"></div><div class="meta"></div><button class="go" type="button"></button>`;
    card.querySelector("img").onerror = (ev) => { ev.target.hidden = true; };
    paint(card, e);
    let timeout;
    const remove = () => { clearTimeout(timeout); zone.innerHTML = ""; shown.delete(e.engagementId); };
    card.querySelector(".close").onclick = () => { beacon("OFFER_DECLINED", e); remove(); };
    card.querySelector(".go").onclick = () => {
      beacon("OFFER_CLICK", e);
      if (e.clickUrl) { location.href = e.clickUrl; return; }
      $("status").textContent = `Opening window ${e.windowId} (${e.windowMode}) for ${e.engagementId}`;
    };
    shown.set(e.engagementId, { e, card });
    beacon("START", e);
    const show = () => {
      zone.appendChild(card);
      beacon("OFFER_DISPLAY", e);
      beacon("OFFER_IMPRESSION", e);
      if (e.displayDurationSeconds) {
        timeout = setTimeout(() => { beacon("OFFER_TIMEOUT", e); remove(); }, e.displayDurationSeconds * 1000);
      }
    };
    // Proactive invites wait their display delay (R-D10).
    if (e.displayDelaySeconds) setTimeout(show, e.displayDelaySeconds * 1000); else show();
  }

  async function decide() {
    const zones = ["left", "right", "proactive"];
    document.querySelectorAll(".embedded").forEach((el) => {
      if ((page.path === "/p/trail-boot-42" && el.id === "product-chat") || (page.path === "/help" && el.id === "help-chat")) zones.push(el.dataset.zone);
    });
    const r = await fetch("/v1/decide", {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-IPCountry": country.value },
      body: JSON.stringify({ account: ACCOUNT, visitorId, visitId, page: { url: SITE + page.path, id: pageId, sections: page.sections }, zones }),
    });
    const d = await r.json();
    if (!r.ok) { $("status").textContent = d.error ? d.error.message : `error ${r.status}`; return; }
    pageContextId = d.pageContextId;
    $("visitor-id").textContent = d.visitorId;
    $("visit-id").textContent = d.visitId;
    $("revision").textContent = d.revision;
    const groups = [d.controlGroups.account ? "account control group (no engagements)" : "exposed"]
      .concat(d.controlGroups.campaigns.map((c) => `control for ${c}`));
    $("control").textContent = groups.join(", ");
    d.engagements.forEach(render);
    document.body.dataset.decided = "true";
  }

  async function refreshStates() {
    const ids = [...shown.keys()];
    if (!ids.length) return;
    const r = await fetch(`/v1/state?account=${ACCOUNT}&engagements=${ids.join(",")}`);
    const d = await r.json();
    for (const s of d.engagements || []) {
      const item = shown.get(s.engagementId);
      if (!item || !s.stateName) continue;
      item.e.stateName = s.stateName;
      item.e.state = s.state;
      paint(item.card, item.e);
    }
    $("status").textContent = `States refreshed at ${new Date().toLocaleTimeString()}`;
  }

  const admin = (method, path, body) => fetch(`/v1/admin/accounts/${ACCOUNT}/${path}`, {
    method, headers: { Authorization: `Bearer ${$("token").value}`, "Content-Type": "application/json" }, body,
  });

  async function listOffsite() {
    if (!$("token").value) return;
    const r = await admin("GET", "offsite-links");
    if (!r.ok) { $("offsite").innerHTML = "<li>Wrong admin token.</li>"; return; }
    const d = await r.json();
    $("offsite").innerHTML = "";
    for (const l of d.links) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = l.url;
      a.textContent = `${l.name}${l.enabled ? "" : " (disabled)"}`;
      a.dataset.engagement = l.engagementId;
      li.appendChild(a);
      $("offsite").appendChild(li);
    }
  }

  const presets = { online: { onlineAgents: 4, expectedWaitSeconds: 30 }, busy: { onlineAgents: 2, expectedWaitSeconds: 600 }, offline: { onlineAgents: 0 } };
  document.querySelectorAll(".avail").forEach((b) => {
    b.onclick = async () => {
      localStorage.setItem("ee_token", $("token").value);
      const r = await admin("PUT", "availability/sales", JSON.stringify(presets[b.dataset.state]));
      $("status").textContent = r.ok ? `Sales agents are now ${b.dataset.state}` : "Wrong admin token.";
      if (r.ok) await refreshStates();
    };
  });
  $("refresh").onclick = refreshStates;
  $("token").onchange = () => { localStorage.setItem("ee_token", $("token").value); listOffsite(); };
  country.onchange = () => { localStorage.setItem("ee_country", country.value); location.reload(); };
  $("new-visit").onclick = () => { sessionStorage.removeItem("ee_visit"); location.reload(); };

  decide().then(() => {
    const every = Math.min(...[...shown.values()].map((s) => s.e.refreshSeconds || Infinity));
    if (Number.isFinite(every)) setInterval(refreshStates, every * 1000);
  });
  listOffsite();
})();
