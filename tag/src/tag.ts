// The web tag (SPEC section 8, R-T1..R-T5): asks the worker which engagements this page view
// shows, renders them in their zones, reports lpTag's lifecycle events, refreshes buttons,
// opens windows through the brand's hook, reports conversions, and waits for consent.
// Zero runtime dependencies. Every entry point catches its own errors: the tag never breaks
// the page it runs on.

/** The lpTag lifecycle events a page may bind to (seed 004's payload). */
export type EventName =
  | "START" | "OFFER_DISPLAY" | "OFFER_IMPRESSION" | "OFFER_CLICK" | "OFFER_TIMEOUT"
  | "OFFER_DECLINED" | "OFFER_REMOVE";

/** One engagement of a decision, as `/v1/decide` answers it (docs/api.md). */
export interface Engagement {
  zoneId: string; campaignId: string; engagementId: string; engagementRevision: number;
  engagementName: string; engagementType: number; format: string; channel: string;
  state: number; stateName: string; confKey: string; contextId: string; windowId: string;
  proactive: boolean; refreshSeconds?: number; clickUrl?: string; tglName: string;
  windowMode?: string; displayDelaySeconds?: number; displayDurationSeconds?: number;
  side?: string; embeddedDivId?: string;
  creatives?: Record<string, { title?: string; text?: string; imageUrl?: string; callToAction?: string }>;
  [more: string]: unknown;
}

/** An event as `events.bind` handlers receive it (lpTag's shape). */
export interface TagEvent {
  eventName: EventName; appName: "LP_OFFERS"; engagementId: string; campaignId: string;
  engagementRevision: number; engagementType: number; zoneId: string; state: number;
  confKey: string; tglName: string; engagementName: string;
  contexts: [{ EngagementContext: { id: string } }, { pageContext: { id: string } }];
}

/** A conversion (R-M2): the brand's id makes a repeated report count once. */
export interface Conversion { id: string; goal: string; value?: number; currency?: string }

/** Where the tag runs and what it asks for. */
export interface TagConfig {
  /** Account id. */
  account: string;
  /** The worker's origin, `https://edge.example` (default: the page's own origin). */
  origin?: string;
  /** Sections of the page (lpTag's `section`). */
  section?: string[];
  /** Zones to ask for; default left, right, proactive and every `[data-ee-embedded]` div. */
  zones?: string[];
  /** R-T5: wait for `consent(true)` before any id, cookie or storage (default false). */
  consentRequired?: boolean;
  /** Milliseconds before a worker that does not answer is given up on (default 3000). */
  timeoutMs?: number;
  /** The page URL decisions see (default `location.href`): for pages served under another
   * address than the one the campaigns' entry points name (a proxy, a staging host). */
  url?: string;
  /** R-S2: an identity token the brand's server signed for the logged-in visitor (docs/tenancy.md).
   * Authenticated engagements are shown only when it verifies; without it the page is anonymous. */
  identity?: string;
  /** Extra request headers, same-origin setups only (local development: `CF-IPCountry` where
   * the worker runs with `GEO_FROM_HEADERS`). */
  headers?: Record<string, string>;
}

/** Draws one engagement: returns the element, or nothing to draw nothing. */
export type Renderer = (e: Engagement, api: RenderApi) => HTMLElement | void;
/** What a renderer may do with the engagement it draws. */
export interface RenderApi { accept(): void; decline(): void }

const VISITOR = "ee_vid";
const VISIT = "ee_sid";
const CONSENT = "ee_consent";
/** The engagements the visitor closed in this visit (R-D7), kept in the tab with the visit id:
 * `{ v: visit id, ids, at: last activity (ms), t: the visit's idle timeout (minutes) }`. */
const DECLINED = "ee_declined";

interface Declined { v: string; ids: string[]; at: number; t: number }

/** The closed engagements a decision request carries; past the worker's limit, none (the visit
 * is then asked, as without them). */
const carried = (ids: string[]) => (ids.length <= 100 ? ids : undefined);
const rand = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");

/** Runs `f`, reporting instead of throwing: the tag never breaks the page. */
function safe<A extends unknown[], R>(f: (...a: A) => R): (...a: A) => R | undefined {
  return (...a: A) => {
    try {
      return f(...a);
    } catch (err) {
      console.warn("eeTag:", err);
      return undefined;
    }
  };
}

/** The tag for one page (the snippet build makes one on `window.eeTag`). */
export class Tag {
  readonly config: TagConfig;
  /** Visitor attributes pushed through `sdes` (docs/attributes.md). */
  readonly attributes: Record<string, unknown> = {};
  private readonly handlers = new Map<string, ((e: TagEvent) => void)[]>();
  private readonly renderers = new Map<string, Renderer>();
  private windowHook?: (data: unknown) => void;
  private shown = new Map<string, { e: Engagement; el?: HTMLElement; timer?: number; api?: RenderApi }>();
  private pageContextId = "";
  private pageId = rand();
  private refreshTimer?: number;
  private consented: boolean;

  constructor(config: TagConfig, private readonly w: Window = window) {
    this.config = { ...config, timeoutMs: config.timeoutMs ?? 3000 };
    this.consented = !config.consentRequired || this.read(this.w.localStorage, CONSENT) === "1";
  }

  private read(s: Storage, k: string): string | null {
    try { return s.getItem(k); } catch { return null; }
  }

  /** The ids, only with consent (R-T5): kept in the page's own storage. */
  private ids(): { visitorId?: string; visitId?: string } {
    if (!this.consented) return {};
    const keep = (s: Storage, k: string) => {
      const v = this.read(s, k) || rand();
      try { s.setItem(k, v); } catch { /* storage off: an id per page view */ }
      return v;
    };
    return { visitorId: keep(this.w.localStorage, VISITOR), visitId: keep(this.w.sessionStorage, VISIT) };
  }

  private url(path: string): string {
    return (this.config.origin || this.w.location.origin) + path;
  }

  private async call(path: string, body?: unknown): Promise<any> {
    const abort = new AbortController();
    const timer = this.w.setTimeout(() => abort.abort(), this.config.timeoutMs);
    try {
      // No cookies either way: the worker's ids travel in the body, kept by the tag itself.
      const r = await fetch(this.url(path), {
        method: body === undefined ? "GET" : "POST", credentials: "omit", signal: abort.signal,
        headers: { ...this.config.headers, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return r.ok ? await r.json() : undefined;
    } finally {
      this.w.clearTimeout(timer);
    }
  }

  /** Binds a handler to an lpTag event name ("*" for all). */
  bind = safe((name: EventName | "*", fn: (e: TagEvent) => void) => {
    this.handlers.set(name, [...(this.handlers.get(name) || []), fn]);
  });

  /** Draws `format` (overlay, toaster, slideOut, sticky, embedded, peelingCorner) or a zone id
   * with `fn` instead of the default rendering. */
  renderer = safe((formatOrZone: string, fn: Renderer) => { this.renderers.set(formatOrZone, fn); });

  /** Called with the window data when a visitor accepts a conversation, or lands from an
   * offsite link (R-O2). */
  onWindow = safe((fn: (data: unknown) => void) => { this.windowHook = fn; });

  /** Adds visitor attributes (lpTag's `sdes.push`): `{type, info}` objects or a plain map. */
  sdes = safe((...items: Record<string, any>[]) => {
    for (const item of items) Object.assign(this.attributes, item && "info" in item ? item.info : item);
  });

  /** R-D7, #16: the engagements closed in visit `visitId`, none once the visit has been idle
   * past its timeout (its object then starts a new visit). */
  private declined(visitId: string): Declined {
    let d: Partial<Declined> = {};
    try { d = JSON.parse(this.read(this.w.sessionStorage, DECLINED) || "{}"); } catch { /* unreadable: none */ }
    const live = d.v === visitId && Array.isArray(d.ids) && Date.now() - (d.at || 0) <= (d.t || 30) * 60000;
    return { v: visitId, ids: live ? d.ids! : [], at: Date.now(), t: d.t || 30 };
  }

  /** Keeps the visit's closed engagements with its last activity (and `closed` among them). */
  private keepDeclined(visitId: string, closed?: string, timeout?: number): void {
    const d = this.declined(visitId);
    if (closed && !d.ids.includes(closed)) d.ids.push(closed);
    if (timeout) d.t = timeout;
    try { this.w.sessionStorage.setItem(DECLINED, JSON.stringify(d)); } catch { /* storage off */ }
  }

  /** R-T5: consent given (ids and storage from now on) or withdrawn (what the tag stored goes). */
  consent = safe((given: boolean) => {
    this.consented = !!given;
    const ls = this.w.localStorage, ss = this.w.sessionStorage;
    try {
      if (given) ls.setItem(CONSENT, "1");
      else { for (const [s, k] of [[ls, VISITOR], [ss, VISIT], [ss, DECLINED], [ls, CONSENT]] as const) s.removeItem(k); }
    } catch { /* storage off */ }
  });

  /** Emits an event to the page's handlers and to the worker (beacon, fetch as fallback). */
  private emit(name: EventName, e: Engagement): void {
    const ev: TagEvent = {
      eventName: name, appName: "LP_OFFERS", engagementId: e.engagementId, campaignId: e.campaignId,
      engagementRevision: e.engagementRevision, engagementType: e.engagementType, zoneId: e.zoneId,
      state: e.state, confKey: e.confKey, tglName: e.tglName, engagementName: e.engagementName,
      contexts: [{ EngagementContext: { id: e.contextId } }, { pageContext: { id: this.pageContextId } }],
    };
    for (const fn of [...(this.handlers.get(name) || []), ...(this.handlers.get("*") || [])]) safe(fn)(ev);
    const { visitId } = this.ids();
    if (!visitId) return;
    this.keepDeclined(visitId, name === "OFFER_DECLINED" ? e.engagementId : undefined);
    const body = JSON.stringify({ account: this.config.account, visitId, ...ev });
    const sent = safe(() => this.w.navigator.sendBeacon(this.url("/v1/events"), new Blob([body], { type: "text/plain" })))();
    if (!sent) fetch(this.url("/v1/events"), { method: "POST", body, keepalive: true, credentials: "omit" }).catch(() => {});
  }

  /** Zones to ask for. */
  private zones(): string[] {
    if (this.config.zones) return this.config.zones;
    const embedded = Array.from(this.w.document.querySelectorAll("[data-ee-embedded][id]"), (el) => `embedded:${el.id}`);
    return ["left", "right", "proactive", ...embedded];
  }

  /** Asks for this page view's engagements and draws them (R-T1). */
  async decide(): Promise<Engagement[]> {
    try {
      const { visitorId, visitId } = this.ids();
      // The visit's closed engagements go with the page view's decision (R-D7): with them, a
      // page without proactive candidates is decided without waiting for the visit (#16).
      const d = await this.call(visitId ? "/v1/decide" : "/v1/decide?visit=0", {
        account: this.config.account, visitorId, visitId, zones: this.zones(), attributes: this.attributes,
        page: {
          url: this.config.url || this.w.location.href, id: this.pageId, sections: this.config.section || [],
          referrer: this.w.document.referrer || undefined, identity: this.config.identity || undefined,
        },
        declined: visitId ? carried(this.declined(visitId).ids) : undefined,
      });
      if (!d) return [];
      if (visitId) this.keepDeclined(visitId, undefined, d.visitTimeoutMinutes);
      this.pageContextId = d.pageContextId || "";
      // Without a visit (no consent), no proactive engagement: caps and declines need a visit.
      const list: Engagement[] = (d.engagements || []).filter((e: Engagement) => visitId || !e.proactive);
      for (const e of list) safe(() => this.show(e))();
      this.scheduleRefresh();
      // The page may follow decisions: `document.addEventListener("eetag:decision", …)`.
      const detail = { ...d, engagements: list };
      safe(() => this.w.document.dispatchEvent(new (this.w as any).CustomEvent("eetag:decision", { detail })))();
      return list;
    } catch (err) {
      console.warn("eeTag: no decision", err);
      return [];
    }
  }

  private show(e: Engagement): void {
    this.emit("START", e);
    const api: RenderApi = {
      accept: () => this.accept(e),
      decline: () => { this.emit("OFFER_DECLINED", e); this.remove(e); },
    };
    const draw = () => {
      const el = this.draw(e, api);
      if (!el) return;
      if (!el.isConnected) place(this.w.document, e, el);
      this.shown.set(e.engagementId, { e, el, api });
      this.emit("OFFER_DISPLAY", e);
      this.emit("OFFER_IMPRESSION", e);
      if (e.proactive) el.focus?.();
      if (e.displayDurationSeconds) {
        const item = this.shown.get(e.engagementId);
        if (item) item.timer = this.w.setTimeout(() => { this.emit("OFFER_TIMEOUT", e); this.remove(e); }, e.displayDurationSeconds * 1000);
      }
    };
    this.shown.set(e.engagementId, { e, api });
    if (e.displayDelaySeconds) this.w.setTimeout(safe(draw), e.displayDelaySeconds * 1000); else draw();
  }

  /** The element for `e`: the brand's renderer for its zone or format, else the default. */
  private draw(e: Engagement, api: RenderApi): HTMLElement | undefined {
    const custom = this.renderers.get(e.zoneId) || this.renderers.get(e.format);
    return custom ? custom(e, api) || undefined : render(this.w.document, e, api);
  }

  private accept(e: Engagement): void {
    this.emit("OFFER_CLICK", e);
    if (e.clickUrl) { this.w.location.href = this.url(e.clickUrl); return; }
    safe(() => this.windowHook?.({ engagementId: e.engagementId, windowId: e.windowId, windowMode: e.windowMode, skill: e.skill, contextId: e.contextId, pageContextId: this.pageContextId }))();
  }

  private remove(e: Engagement): void {
    const item = this.shown.get(e.engagementId);
    if (!item) return;
    this.w.clearTimeout(item.timer);
    item.el?.remove();
    this.shown.delete(e.engagementId);
  }

  /** R-D8: buttons refresh at their engagement's interval, only while the page is visible. */
  private scheduleRefresh(): void {
    this.w.clearInterval(this.refreshTimer);
    const every = Math.min(...Array.from(this.shown.values(), (s) => s.e.refreshSeconds || Infinity));
    if (!Number.isFinite(every)) return;
    this.refreshTimer = this.w.setInterval(safe(() => {
      if (this.w.document.visibilityState === "visible") void this.refresh();
    }), every * 1000);
  }

  /** Asks the worker for the shown engagements' states and redraws those that changed. */
  async refresh(): Promise<void> {
    try {
      const ids = Array.from(this.shown.keys());
      if (!ids.length) return;
      const d = await this.call(`/v1/state?account=${encodeURIComponent(this.config.account)}&engagements=${ids.map(encodeURIComponent).join(",")}`);
      for (const s of d?.engagements || []) {
        const item = this.shown.get(s.engagementId);
        if (!item || !s.stateName || s.stateName === item.e.stateName) continue;
        item.e.stateName = s.stateName;
        item.e.state = s.state;
        const custom = this.renderers.get(item.e.zoneId) || this.renderers.get(item.e.format);
        if (item.el && !custom) paint(item.el, item.e);
        else if (item.el && item.api) {
          // The brand's renderer draws the new state; its element takes the old one's place.
          const el = this.draw(item.e, item.api);
          if (el && el !== item.el) { if (!el.isConnected) item.el.replaceWith(el); item.el = el; }
        }
      }
    } catch (err) {
      console.warn("eeTag: refresh", err);
    }
  }

  /** Single-page sites: a new page view (R-T1): what this one showed goes, OFFER_REMOVE. A login
   * or logout passes the new identity token (R-S2; `null` for none). */
  newPage = safe((options?: { section?: string[]; identity?: string | null }) => {
    for (const { e } of Array.from(this.shown.values())) { this.emit("OFFER_REMOVE", e); this.remove(e); }
    if (options?.section) this.config.section = options.section;
    if (options?.identity !== undefined) this.config.identity = options.identity ?? undefined;
    this.pageId = rand();
    void this.decide();
  });

  /** Reports a conversion (R-M2); only with consent, since it names the visitor. */
  conversion = safe((c: Conversion) => {
    const { visitorId, visitId } = this.ids();
    if (!visitorId) return;
    void this.call(`/v1/conversions/${encodeURIComponent(this.config.account)}`, { ...c, visitorId, visitId }).catch(() => {});
  });

  /** R-O2: on an offsite landing page, exchanges `ee_visit`/`ee_context` for the window data
   * and calls the window hook once. */
  async landing(): Promise<unknown> {
    try {
      const q = new URL(this.w.location.href).searchParams;
      const [visitId, contextId] = [q.get("ee_visit"), q.get("ee_context")];
      if (!visitId || !contextId) return undefined;
      const d = await this.call(`/v1/landing/${encodeURIComponent(this.config.account)}?visitId=${encodeURIComponent(visitId)}&contextId=${encodeURIComponent(contextId)}`);
      if (d?.open) {
        if (this.consented) try { this.w.sessionStorage.setItem(VISIT, visitId); } catch { /* off */ }
        safe(() => this.windowHook?.(d.window))();
      }
      return d;
    } catch (err) {
      console.warn("eeTag: landing", err);
      return undefined;
    }
  }
}

/** The default drawing of an engagement (R-D10): its creative for the state it is in. */
export function render(doc: Document, e: Engagement, api: RenderApi): HTMLElement {
  const el = doc.createElement("div");
  el.className = `ee-engagement ee-${e.format} ee-${e.zoneId.replace(":", "-")}`;
  el.dataset.engagement = e.engagementId;
  el.setAttribute("role", e.proactive ? "dialog" : "region");
  el.setAttribute("aria-label", e.engagementName);
  el.tabIndex = -1;
  el.innerHTML = `<button type="button" class="ee-close" aria-label="Close">×</button><img alt="" hidden><strong class="ee-title"></strong><p class="ee-text"></p><button type="button" class="ee-go"></button>`;
  paint(el, e);
  (el.querySelector(".ee-close") as HTMLElement).onclick = api.decline;
  (el.querySelector(".ee-go") as HTMLElement).onclick = api.accept;
  if (e.proactive) el.addEventListener("keydown", (k) => { if (k.key === "Escape") api.decline(); });
  return el;
}

/** Writes the creative of the engagement's state into its element. */
function paint(el: HTMLElement, e: Engagement): void {
  const c = e.creatives?.[e.stateName] || e.creatives?.online || { title: e.engagementName };
  el.dataset.state = e.stateName;
  const set = (sel: string, text?: string) => { const n = el.querySelector(sel); if (n) n.textContent = text || ""; };
  set(".ee-title", c.title);
  set(".ee-text", c.text);
  set(".ee-go", c.callToAction || (e.channel === "clickToCall" ? "Call me" : "Chat now"));
  const img = el.querySelector("img");
  if (img) { img.hidden = !c.imageUrl; if (c.imageUrl) img.src = c.imageUrl; }
}

/** Puts an engagement's element in its zone: into the embedded div, at a side, or over the page. */
function place(doc: Document, e: Engagement, el: HTMLElement): void {
  const embedded = e.zoneId.startsWith("embedded:") ? doc.getElementById(e.zoneId.slice(9)) : null;
  if (embedded) { embedded.replaceChildren(el); return; }
  const side = e.zoneId === "left" || e.zoneId === "right" ? e.zoneId : "";
  el.style.cssText = `position:fixed;z-index:2147483000;max-width:320px;background:#fff;color:#111;padding:12px;border-radius:8px;box-shadow:0 2px 12px #0004;${
    side ? `${side}:16px;bottom:96px` : "left:50%;top:30%;transform:translateX(-50%)"}`;
  doc.body.appendChild(el);
}
