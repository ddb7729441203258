// The snippet build (IIFE): reads `window.eeTag` as the page's snippet left it (account,
// origin, section, sdes pushed so far, and the calls its stubs queued in `q`), replaces it with
// the live API, replays what was queued, then decides. The only global is `eeTag`.
import { Tag, type TagConfig } from "./tag";

type Queued = [string, unknown[]];

(() => {
  try {
    const w = window as unknown as { eeTag?: Record<string, any> };
    const g = w.eeTag || {};
    if (g.loaded) return; // the script included twice
    if (!g.account) { console.warn("eeTag: no account"); return; }
    const config: TagConfig = {
      account: g.account, origin: g.origin, section: g.section, zones: g.zones,
      consentRequired: g.consentRequired, timeoutMs: g.timeoutMs, url: g.url, headers: g.headers, identity: g.identity,
    };
    const tag = new Tag(config);
    const api = {
      loaded: true,
      account: config.account,
      get section() { return tag.config.section; },
      set section(v: string[] | undefined) { tag.config.section = v; },
      sdes: { push: tag.sdes },
      events: { bind: tag.bind },
      newPage: tag.newPage,
      conversion: tag.conversion,
      consent: tag.consent,
      renderer: tag.renderer,
      onWindow: tag.onWindow,
      refresh: () => tag.refresh(),
    };
    w.eeTag = api;
    if (Array.isArray(g.sdes)) tag.sdes(...g.sdes);
    const calls: Record<string, (...a: any[]) => unknown> = {
      bind: tag.bind, newPage: tag.newPage, conversion: tag.conversion, consent: tag.consent,
      renderer: tag.renderer, onWindow: tag.onWindow,
    };
    for (const [name, args] of (g.q || []) as Queued[]) {
      if (name !== "newPage") calls[name]?.(...args);
    }
    void tag.landing();
    void tag.decide();
  } catch (err) {
    console.warn("eeTag:", err);
  }
})();
