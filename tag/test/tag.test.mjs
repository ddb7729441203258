// The tag's unit tests (R-T1..R-T5) on the ES module build (tag/dist/tag.mjs, what bundlers
// import), in happy-dom, with the worker's answers scripted: the browser tests against the
// real worker are tests/worker/tag.test.mjs.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { Window } from "happy-dom";
import { Tag } from "../dist/tag.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let win;
let requests;
let answers;

beforeEach(() => {
  win = new Window({ url: "https://www.brand.example/shop/boots" });
  win.document.body.innerHTML = `<div id="product-chat" data-ee-embedded></div>`;
  requests = [];
  answers = {};
  win.navigator.sendBeacon = (url, blob) => { requests.push({ url, beacon: true, blob }); return true; };
  globalThis.fetch = async (url, init = {}) => {
    const path = new URL(url).pathname + new URL(url).search;
    requests.push({ url, path, init, body: init.body ? JSON.parse(init.body) : undefined });
    const answer = Object.entries(answers).find(([prefix]) => path.startsWith(prefix))?.[1];
    if (answer instanceof Error) throw answer;
    if (answer === "hang") return new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new Error("aborted"))));
    return { ok: answer !== undefined, json: async () => answer };
  };
  globalThis.Blob ??= win.Blob;
});

const engagement = (over) => ({
  zoneId: "right", campaignId: "c1", engagementId: "e1", engagementRevision: 2, engagementName: "Sales chat",
  engagementType: 5, format: "sticky", channel: "chat", state: 1, stateName: "online", confKey: "c1|e1|2",
  contextId: "ctx-1", windowId: "w1", proactive: false, tglName: "sticky", refreshSeconds: undefined,
  creatives: { online: { title: "Talk to us", text: "We are here", callToAction: "Chat now" } }, ...over,
});
const decision = (...engagements) => ({ pageContextId: "page-ctx", engagements });

async function beaconNames() {
  const out = [];
  for (const r of requests.filter((x) => x.beacon)) out.push(JSON.parse(await r.blob.text()).eventName);
  return out;
}

test("R-T2 a decision per page view, each engagement drawn in its zone from its presentation", async () => {
  answers["/v1/decide"] = decision(engagement(), engagement({ zoneId: "embedded:product-chat", engagementId: "e2", contextId: "ctx-2", format: "embedded" }));
  const tag = new Tag({ account: "acme", origin: "https://edge.example" }, win);
  const shown = await tag.decide();
  assert.equal(shown.length, 2);
  const [call] = requests;
  assert.equal(call.url, "https://edge.example/v1/decide");
  assert.equal(call.init.credentials, "omit", "no cookies either way");
  assert.deepEqual(call.body.zones, ["left", "right", "proactive", "embedded:product-chat"]);
  assert.equal(call.body.page.url, "https://www.brand.example/shop/boots");
  const embedded = win.document.querySelector("#product-chat [data-engagement=e2]");
  assert.ok(embedded, "embedded into the zone's div");
  assert.equal(embedded.querySelector(".ee-title").textContent, "Talk to us");
  const side = win.document.querySelector("body > [data-engagement=e1]");
  assert.match(side.style.cssText, /right: ?16px/);
  assert.equal(side.getAttribute("role"), "region");
  assert.equal(side.getAttribute("aria-label"), "Sales chat");
});

test("R-T3 lifecycle events reach the page's handlers in lpTag's shape and the worker by beacon", async () => {
  answers["/v1/decide"] = decision(engagement());
  const tag = new Tag({ account: "acme", origin: "https://edge.example" }, win);
  const seen = [];
  tag.bind("*", (e) => seen.push(e.eventName));
  tag.bind("OFFER_IMPRESSION", (e) => { seen.push(e); throw new Error("a page handler that throws"); });
  await tag.decide();
  assert.deepEqual(seen.filter((x) => typeof x === "string"), ["START", "OFFER_DISPLAY", "OFFER_IMPRESSION"]);
  const impression = seen.find((x) => typeof x === "object");
  assert.equal(impression.appName, "LP_OFFERS");
  assert.deepEqual(impression.contexts, [{ EngagementContext: { id: "ctx-1" } }, { pageContext: { id: "page-ctx" } }]);
  assert.deepEqual(await beaconNames(), ["START", "OFFER_DISPLAY", "OFFER_IMPRESSION"]);
  const body = JSON.parse(await requests.find((r) => r.beacon).blob.text());
  assert.equal(body.account, "acme");
  assert.match(body.visitId, /^[0-9a-f]{32}$/);
  win.document.querySelector("[data-engagement=e1] .ee-go").click();
  assert.equal((await beaconNames()).at(-1), "OFFER_CLICK");
});

test("R-T3 R-S2 sections, attributes, the identity token and conversions go through the API; newPage starts a new page view", async () => {
  answers["/v1/decide"] = decision(engagement());
  answers["/v1/conversions/acme"] = { accepted: true };
  const tag = new Tag({ account: "acme", origin: "https://edge.example", section: ["shop"], identity: "jwt-1" }, win);
  tag.sdes({ type: "ctmrinfo", info: { customerType: "vip" } }, { cartValue: 42 });
  await tag.decide();
  const first = requests[0].body;
  assert.deepEqual(first.page.sections, ["shop"]);
  assert.equal(first.page.identity, "jwt-1", "R-S2 the brand's token goes with the page");
  assert.deepEqual(first.attributes, { customerType: "vip", cartValue: 42 });
  tag.conversion({ id: "order-1", goal: "purchase", value: 12.5, currency: "GBP" });
  await sleep(0);
  const conv = requests.find((r) => r.path === "/v1/conversions/acme");
  assert.deepEqual({ ...conv.body, visitorId: undefined, visitId: undefined },
    { id: "order-1", goal: "purchase", value: 12.5, currency: "GBP", visitorId: undefined, visitId: undefined });
  assert.equal(conv.body.visitorId, first.visitorId);
  tag.newPage({ section: ["checkout"], identity: null });
  await sleep(0);
  const second = requests.filter((r) => r.path === "/v1/decide").at(-1).body;
  assert.equal(second.page.identity, undefined, "after a logout the page is anonymous");
  assert.notEqual(second.page.id, first.page.id, "a new page view");
  assert.deepEqual(second.page.sections, ["checkout"]);
  assert.ok((await beaconNames()).includes("OFFER_REMOVE"), "what the last page view showed is removed");
});

test("R-T2 proactive: the delay is honoured, Escape declines, the duration times out", async () => {
  answers["/v1/decide"] = decision(
    engagement({ zoneId: "proactive", format: "overlay", proactive: true, displayDelaySeconds: 0.05 }),
  );
  const tag = new Tag({ account: "acme", origin: "https://edge.example" }, win);
  await tag.decide();
  assert.equal(win.document.querySelector("[data-engagement=e1]"), null, "not before its delay");
  await sleep(80);
  const invite = win.document.querySelector("[data-engagement=e1]");
  assert.equal(invite.getAttribute("role"), "dialog");
  invite.dispatchEvent(new win.KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
  assert.equal(win.document.querySelector("[data-engagement=e1]"), null);
  assert.equal((await beaconNames()).at(-1), "OFFER_DECLINED");
  requests.length = 0;
  answers["/v1/decide"] = decision(engagement({ zoneId: "proactive", format: "toaster", proactive: true, displayDurationSeconds: 0.05 }));
  await new Tag({ account: "acme", origin: "https://edge.example" }, win).decide();
  await sleep(80);
  assert.equal(win.document.querySelector("[data-engagement=e1]"), null);
  assert.equal((await beaconNames()).at(-1), "OFFER_TIMEOUT");
});

test("R-D7 #16 the visit's closed engagements go with each page view's decision, until the visit times out", async () => {
  answers["/v1/decide"] = { ...decision(engagement()), visitTimeoutMinutes: 30 };
  const tag = new Tag({ account: "acme", origin: "https://edge.example" }, win);
  let api;
  tag.renderer("sticky", (e, a) => { api = a; return win.document.createElement("div"); });
  await tag.decide();
  const bodies = () => requests.filter((r) => r.path === "/v1/decide").map((r) => r.body);
  assert.deepEqual(bodies()[0].declined, [], "a first page carries none");
  api.decline();
  tag.newPage();
  await sleep(0);
  assert.deepEqual(bodies()[1].declined, ["e1"], "the next page carries the closed engagement");
  // Another tag on the next page of the same tab (a full page load) carries it too.
  await new Tag({ account: "acme", origin: "https://edge.example" }, win).decide();
  assert.deepEqual(bodies()[2].declined, ["e1"]);
  // Idle past the visit's timeout: the visit starts afresh, and so do its declines.
  const kept = JSON.parse(win.sessionStorage.getItem("ee_declined"));
  win.sessionStorage.setItem("ee_declined", JSON.stringify({ ...kept, at: Date.now() - 31 * 60000 }));
  await new Tag({ account: "acme", origin: "https://edge.example" }, win).decide();
  assert.deepEqual(bodies()[3].declined, []);
  // Past the worker's 100 ids, none are carried and the visit's object is asked.
  const many = (n) => ({ ...JSON.parse(win.sessionStorage.getItem("ee_declined")), ids: Array.from({ length: n }, (_, i) => `e${i}`) });
  win.sessionStorage.setItem("ee_declined", JSON.stringify(many(100)));
  await new Tag({ account: "acme", origin: "https://edge.example" }, win).decide();
  assert.equal(bodies()[4].declined.length, 100);
  win.sessionStorage.setItem("ee_declined", JSON.stringify(many(101)));
  await new Tag({ account: "acme", origin: "https://edge.example" }, win).decide();
  assert.equal(bodies()[5].declined, undefined);
});

test("R-T2 a renderer the brand registers draws instead, per format or zone", async () => {
  answers["/v1/decide"] = decision(engagement());
  const tag = new Tag({ account: "acme", origin: "https://edge.example" }, win);
  let api;
  tag.renderer("sticky", (e, a) => {
    api = a;
    const el = win.document.createElement("button");
    el.id = "brand-button";
    el.textContent = e.engagementName;
    win.document.body.append(el);
    return el;
  });
  await tag.decide();
  assert.equal(win.document.getElementById("brand-button").textContent, "Sales chat");
  assert.equal(win.document.querySelector(".ee-engagement"), null);
  api.decline();
  assert.equal(win.document.getElementById("brand-button"), null);
});

test("R-T4 a click opens the window through the brand's hook; a landing page exchanges its parameters once", async () => {
  answers["/v1/decide"] = decision(engagement());
  const tag = new Tag({ account: "acme", origin: "https://edge.example" }, win);
  const opened = [];
  tag.onWindow((w) => opened.push(w));
  await tag.decide();
  win.document.querySelector("[data-engagement=e1] .ee-go").click();
  assert.deepEqual(opened.map((w) => [w.engagementId, w.windowId]), [["e1", "w1"]]);
  const landing = new Window({ url: "https://www.brand.example/chat?ee_visit=v-9&ee_context=c-9#window" });
  answers["/v1/landing/acme"] = { open: true, window: { engagementId: "e-offsite", windowId: "w-sales" } };
  const lt = new Tag({ account: "acme", origin: "https://edge.example" }, landing);
  const got = [];
  lt.onWindow((w) => got.push(w));
  await lt.landing();
  assert.deepEqual(got, [{ engagementId: "e-offsite", windowId: "w-sales" }]);
  assert.equal(requests.at(-1).path, "/v1/landing/acme?visitId=v-9&contextId=c-9");
  assert.equal(landing.sessionStorage.getItem("ee_sid"), "v-9", "events on the landing page count in the click's visit");
});

test("R-T4 buttons refresh at their interval only while the page is visible", async () => {
  answers["/v1/decide"] = decision(engagement({ refreshSeconds: 0.05 }));
  answers["/v1/state"] = { engagements: [{ engagementId: "e1", state: 2, stateName: "offline" }] };
  const tag = new Tag({ account: "acme", origin: "https://edge.example" }, win);
  Object.defineProperty(win.document, "visibilityState", { value: "hidden", configurable: true });
  await tag.decide();
  await sleep(120);
  assert.equal(requests.filter((r) => r.path?.startsWith("/v1/state")).length, 0, "hidden: no refresh");
  Object.defineProperty(win.document, "visibilityState", { value: "visible", configurable: true });
  await sleep(120);
  assert.ok(requests.some((r) => r.path === "/v1/state?account=acme&engagements=e1"));
  assert.equal(win.document.querySelector("[data-engagement=e1]").dataset.state, "offline");
  win.happyDOM.abort();
});

test("R-T5 until consent: no id, no storage, no proactive engagement; withdrawn consent removes what the tag stored", async () => {
  answers["/v1/decide?visit=0"] = decision(engagement(), engagement({ engagementId: "e-pro", zoneId: "proactive", proactive: true, contextId: "c2" }));
  const tag = new Tag({ account: "acme", origin: "https://edge.example", consentRequired: true }, win);
  const shown = await tag.decide();
  assert.deepEqual(shown.map((e) => e.engagementId), ["e1"], "no proactive engagement without a visit");
  assert.equal(requests[0].path, "/v1/decide?visit=0");
  assert.equal(requests[0].body.visitorId, undefined);
  assert.equal(requests.filter((r) => r.beacon).length, 0, "no events without a visit");
  assert.equal(win.localStorage.length + win.sessionStorage.length, 0);
  assert.equal(win.document.cookie, "");
  tag.conversion({ id: "o", goal: "purchase" });
  assert.equal(requests.filter((r) => r.path?.startsWith("/v1/conversions")).length, 0);
  tag.consent(true);
  answers["/v1/decide"] = decision(engagement());
  await tag.decide();
  assert.match(win.localStorage.getItem("ee_vid"), /^[0-9a-f]{32}$/);
  assert.equal(win.localStorage.getItem("ee_consent"), "1");
  tag.consent(false);
  assert.equal(win.localStorage.length + win.sessionStorage.length, 0);
});

test("R-T1 a worker that is down or slow leaves the page as it was", async () => {
  answers["/v1/decide"] = new Error("connection refused");
  const before = win.document.body.innerHTML;
  assert.deepEqual(await new Tag({ account: "acme", origin: "https://edge.example" }, win).decide(), []);
  answers["/v1/decide"] = "hang";
  const started = Date.now();
  assert.deepEqual(await new Tag({ account: "acme", origin: "https://edge.example", timeoutMs: 50 }, win).decide(), []);
  assert.ok(Date.now() - started < 1000, "given up after its timeout");
  assert.equal(win.document.body.innerHTML, before);
});

test("R-T1 a configuration that leaves the timeout undefined (the snippet's) still waits 3 s", async () => {
  answers["/v1/decide"] = decision(engagement());
  const slow = globalThis.fetch;
  globalThis.fetch = async (url, init) => { await sleep(60); return slow(url, init); };
  const shown = await new Tag({ account: "acme", origin: "https://edge.example", timeoutMs: undefined }, win).decide();
  assert.equal(shown.length, 1);
});
