// The demo site's page script: configures the web tag (tag/, loaded from /tag/{version}/tag.js
// by demo/index.html) for the demo shop, draws each engagement as a card in the page's zones
// through the tag's renderer hook, and drives the demo panel (country, availability, offsite
// links). Decisions, events, refresh and windows are the tag's own. Plain JavaScript.
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
  const country = localStorage.getItem("ee_country") || "GB";
  // The tag's configuration, read when its script loads (the snippet's object). The demo's
  // pages stand for the shop's own URLs; locally the worker takes geo from CF-IPCountry.
  window.eeTag = {
    account: ACCOUNT, q: [], sdes: [], section: page.sections, url: SITE + page.path,
    zones: ["left", "right", "proactive", ...(page.path === "/p/trail-boot-42" ? ["embedded:product-chat"] : []),
      ...(page.path === "/help" ? ["embedded:help-chat"] : [])],
    headers: { "CF-IPCountry": country },
  };
  $("country").value = country;
  $("token").value = localStorage.getItem("ee_token") || "";
  $("title").textContent = page.title;
  $("blurb").textContent = page.blurb;

  // R-D10: each engagement as a card in its zone, from the creative of its state.
  function card(e, api) {
    const zone = document.querySelector(`[data-zone="${e.zoneId}"]`);
    if (!zone) return undefined;
    const c = (e.creatives && (e.creatives[e.stateName] || e.creatives.online)) || { title: e.engagementName };
    const el = document.createElement("div");
    el.className = `card state-${e.stateName} tgl-${e.tglName}`;
    el.dataset.engagement = e.engagementId;
    el.setAttribute("role", e.proactive ? "dialog" : "region");
    el.setAttribute("aria-label", e.engagementName);
    el.innerHTML = `<button class="close" type="button" aria-label="Close">×</button>
      <img alt="" hidden><div class="name"></div><div class="text"></div><div class="meta"></div><button class="go" type="button"></button>`;
    const img = el.querySelector("img");
    img.onerror = () => { img.hidden = true; };
    if (c.imageUrl) { img.src = c.imageUrl; img.hidden = false; }
    el.querySelector(".name").textContent = c.title || "";
    el.querySelector(".text").textContent = c.text || "";
    el.querySelector(".meta").textContent = `${e.format} · ${e.channel} · ${e.stateName}`;
    el.querySelector(".go").textContent = c.callToAction || (e.channel === "clickToCall" ? "Call me" : "Chat now");
    el.querySelector(".close").onclick = () => { api.decline(); zone.replaceChildren(); };
    el.querySelector(".go").onclick = api.accept;
    zone.replaceChildren(el);
    return el;
  }
  for (const z of window.eeTag.zones) window.eeTag.q.push(["renderer", [z, card]]);
  window.eeTag.q.push(["onWindow", [(w) => {
    $("status").textContent = `Opening window ${w.windowId} (${w.windowMode}) for ${w.engagementId}`;
  }]]);
  document.addEventListener("eetag:decision", (ev) => {
    const d = ev.detail;
    $("visitor-id").textContent = d.visitorId;
    $("visit-id").textContent = d.visitId;
    $("revision").textContent = d.revision;
    const groups = [d.controlGroups.account ? "account control group (no engagements)" : "exposed"]
      .concat(d.controlGroups.campaigns.map((c) => `control for ${c}`));
    $("control").textContent = groups.join(", ");
    document.body.dataset.decided = "true";
  });

  const admin = (method, path, body) => fetch(`/v1/admin/accounts/${ACCOUNT}/${path}`, {
    method, headers: { Authorization: `Bearer ${$("token").value}`, "Content-Type": "application/json" }, body,
  });

  async function listOffsite() {
    if (!$("token").value) return;
    const r = await admin("GET", "offsite-links");
    if (!r.ok) { $("offsite").innerHTML = "<li>Wrong key: use the demo account's key from .dev.demo-key.</li>"; return; }
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

  const refresh = async () => {
    await window.eeTag.refresh?.();
    $("status").textContent = `States refreshed at ${new Date().toLocaleTimeString()}`;
  };
  const presets = { online: { onlineAgents: 4, expectedWaitSeconds: 30 }, busy: { onlineAgents: 2, expectedWaitSeconds: 600 }, offline: { onlineAgents: 0 } };
  document.querySelectorAll(".avail").forEach((b) => {
    b.onclick = async () => {
      localStorage.setItem("ee_token", $("token").value);
      const r = await admin("PUT", "availability/sales", JSON.stringify(presets[b.dataset.state]));
      $("status").textContent = r.ok ? `Sales agents are now ${b.dataset.state}` : "Wrong key: use the demo account's key from .dev.demo-key.";
      if (r.ok) await refresh();
    };
  });
  $("refresh").onclick = refresh;
  $("token").onchange = () => { localStorage.setItem("ee_token", $("token").value); listOffsite(); };
  $("country").onchange = () => { localStorage.setItem("ee_country", $("country").value); location.reload(); };
  $("new-visit").onclick = () => { sessionStorage.removeItem("ee_sid"); location.reload(); };
  listOffsite();
})();
