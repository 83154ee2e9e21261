/*
 * Teller tracking snippet: the source of teller.min.js, which the collector
 * serves at /teller.js. After any change, run ./build.sh (a Go test fails
 * while teller.min.js is older than this file).
 *
 * Rules: plain ES2017, no dependencies, at most 2 KB gzipped, and never an
 * error thrown into the host page (every entry point is wrapped in `safe`).
 *
 * A site owner pastes (snippet.Tag makes it):
 *   <script defer data-site="SITE" src="https://COLLECTOR/teller.js"></script>
 * Attributes of that tag:
 *   data-site  the site id (required).
 *   data-api   where to send events; default: the script's origin + /api/event.
 *   data-hash  also count a change of location.hash as a page view
 *              (for apps that route by hash).
 *   data-respect-dnt  send nothing when the browser asks not to be tracked
 *              (Do Not Track, or Global Privacy Control).
 *   data-allow-localhost  also count pages on this machine: localhost (and
 *              *.localhost), 127.x.x.x, [::1], and file: pages, which are
 *              otherwise skipped so a developer's visits never count.
 *
 * A visitor opts this browser out with localStorage.teller_ignore = "true"
 * (for instance from a link on the site's privacy page): nothing is sent.
 *
 * Custom events, from the site's own code:
 *   teller('Signup', {props: {plan: 'pro', seats: 3}})
 * Calls made before this script ran are kept if the page first defines this
 * one-line stub; they are sent, in order, right after the first page view:
 *   <script>window.teller=window.teller||function(){(window.teller.q=window.teller.q||[]).push(arguments)}</script>
 *
 * What is sent: POST <api> with one JSON event as a text/plain body, so that
 * a cross-origin collector needs no CORS preflight, and with credentials, so
 * that the visitor cookie the collector sets comes back. The collector
 * refuses an unknown kind or a bad field, so this file and the collector's
 * event decoder must change together. Fields (empty ones are left out):
 *   site, kind ("pageview" | "event" | "engagement"), name ("pageview",
 *   the custom name, or "engagement"), url, referrer (page views only; the
 *   previous URL after a single-page-app navigation), title, screen_width,
 *   screen_height, props (strings only, at most 30), engaged_ms and
 *   scroll_depth (engagement only).
 *
 * Automatic events:
 *   - a page view on load, and on each single-page-app navigation that
 *     changes the path or the query (history.pushState/replaceState and
 *     popstate; hash-only changes too with data-hash), and when the page
 *     comes back from the back/forward cache;
 *   - "Outbound Link: Click" {url} for a link to another host, and
 *     "File Download" {url} for a link to a file (by extension, or with a
 *     download attribute);
 *   - "engagement": how long the page was visible and how deep it was
 *     scrolled, sent when the page is hidden or left (visibilitychange,
 *     pagehide) and before the page view of an app navigation, if the page
 *     was visible for at least a second. Each visible stretch is counted
 *     once: the timer restarts after a send.
 */
(() => {
  'use strict';

  const w = window;
  const d = document;
  const loc = location;
  const MAX_PROPS = 30;
  const MIN_ENGAGED_MS = 1000;
  // Links to these files count as downloads (matched on the URL's path).
  const FILE =
    /\.(pdf|docx?|xlsx?|pptx?|od[tsp]|rtf|txt|csv|epub|zip|rar|7z|gz|tgz|bz2|xz|tar|dmg|pkg|exe|msi|deb|rpm|apk|iso|mp[34]|m4[av]|wav|flac|ogg|mov|avi|wmv|mkv|webm|mpe?g)$/i;

  // safe wraps an entry point so that an error of ours never reaches the page.
  const safe = (f) =>
    function () {
      try {
        return f.apply(this, arguments);
      } catch (e) {
        // Analytics must never break the site.
      }
    };

  safe(() => {
    const script = d.currentScript || d.querySelector('script[data-site][src*="teller"]');
    // No tag to read, or the script is on the page twice: do nothing.
    if (!script || (w.teller && w.teller.l)) return;
    const attr = (name) => script.getAttribute('data-' + name);
    const site = attr('site');
    const api = attr('api') || new URL(script.src).origin + '/api/event';
    const hashMode = script.hasAttribute('data-hash');
    // Opted out: teller() stays callable, and does nothing.
    const off = () => (w.teller = () => {});
    const n = navigator;
    if (script.hasAttribute('data-respect-dnt') && (n.doNotTrack == '1' || w.doNotTrack == '1' || n.globalPrivacyControl)) return off();
    if (!script.hasAttribute('data-allow-localhost') && (loc.protocol == 'file:' || /^(.*\.)?localhost$|^127(\.\d+){3}$|^\[::1\]$/.test(loc.hostname))) return off();
    try {
      if (localStorage.teller_ignore == 'true') return off();
    } catch (e) {
      // Storage blocked: no opt-out to read.
    }

    // The page being measured, and what it has done so far.
    let pageURL; // location.href at its page view
    let pageKey; // what tells pages apart: path and query (and hash in hash mode)
    let engagedMs; // visible time counted before `since`
    let since; // performance.now() when the page last became visible; 0 while hidden
    let depth; // deepest scroll seen, in percent of the page's height

    const now = () => performance.now();
    const hidden = () => d.visibilityState === 'hidden';
    const key = () => loc.pathname + loc.search + (hashMode ? loc.hash : '');

    // send posts one event. Fields in `fields` override the defaults;
    // empty values are left out. With beacon set, it uses sendBeacon, which
    // survives the page being closed.
    const send = (kind, name, fields, beacon) => {
      const event = Object.assign(
        {
          site,
          kind,
          name,
          url: loc.href,
          title: d.title,
          screen_width: screen.width,
          screen_height: screen.height,
        },
        fields
      );
      for (const k in event) if (!event[k]) delete event[k];
      const body = JSON.stringify(event);
      const nav = navigator;
      if (beacon && nav.sendBeacon && nav.sendBeacon(api, new Blob([body], { type: 'text/plain' }))) return;
      fetch(api, {
        method: 'POST',
        body,
        keepalive: true,
        credentials: 'include',
        headers: { 'Content-Type': 'text/plain' },
      }).catch(() => {});
    };

    // props turns the site's properties into at most MAX_PROPS string values.
    const props = (p) => {
      let out;
      let n = 0;
      if (p && typeof p === 'object') {
        for (const k of Object.keys(p)) {
          const v = p[k];
          if (v == null || n >= MAX_PROPS) continue;
          (out = out || {})[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
          n++;
        }
      }
      return out;
    };

    const measureScroll = () => {
      const el = d.documentElement;
      const height = Math.max(el.scrollHeight, d.body ? d.body.scrollHeight : 0);
      const seen = (w.scrollY || el.scrollTop || 0) + w.innerHeight;
      const percent = height > 0 ? Math.min(100, Math.round((seen / height) * 100)) : 0;
      if (percent > depth) depth = percent;
    };

    const pageview = (referrer) => {
      pageURL = loc.href;
      pageKey = key();
      engagedMs = 0;
      since = hidden() ? 0 : now();
      depth = 0;
      measureScroll();
      send('pageview', 'pageview', { referrer });
    };

    // flush ends the current visible stretch and sends it as an engagement
    // event if the page was visible long enough; shorter time is kept.
    const flush = (beacon) => {
      if (since) engagedMs += now() - since;
      since = hidden() ? 0 : now();
      measureScroll();
      if (engagedMs >= MIN_ENGAGED_MS) {
        send('engagement', 'engagement', { url: pageURL, engaged_ms: Math.round(engagedMs), scroll_depth: depth }, beacon);
        engagedMs = 0;
      }
    };

    // route runs after every history change of a single-page app.
    const route = safe(() => {
      if (key() === pageKey) return;
      const previous = pageURL;
      flush(false);
      pageview(previous);
    });

    const onClick = (e) => {
      if (e.type === 'auxclick' && e.button !== 1) return; // middle click only
      const link = e.target.closest && e.target.closest('a[href],area[href]');
      if (!link) return;
      let href = link.href;
      if (typeof href !== 'string') href = href.baseVal; // an SVG link
      const u = new URL(href, loc.href);
      if (!/^https?:$/.test(u.protocol)) return;
      const event = link.hasAttribute('download') || FILE.test(u.pathname) ? 'File Download' : u.host !== loc.host ? 'Outbound Link: Click' : '';
      if (event) send('event', event, { props: { url: u.href } });
    };

    // teller is the public function: teller(name, {props: {...}}).
    const teller = safe((name, options) => {
      if (name) send('event', String(name), { props: props(options && options.props) });
    });
    teller.l = 1; // loaded

    const start = safe(() => {
      const queued = (w.teller && w.teller.q) || [];
      w.teller = teller;
      pageview(d.referrer);
      for (const args of queued) teller(args[0], args[1]);

      for (const method of ['pushState', 'replaceState']) {
        const original = history[method];
        if (typeof original !== 'function') continue;
        history[method] = function () {
          const result = original.apply(this, arguments);
          route();
          return result;
        };
      }
      w.addEventListener('popstate', route);
      if (hashMode) w.addEventListener('hashchange', route);

      w.addEventListener('scroll', safe(measureScroll), { passive: true });
      d.addEventListener(
        'visibilitychange',
        safe(() => {
          if (hidden()) flush(true);
          else if (!since) since = now();
        })
      );
      w.addEventListener('pagehide', safe(() => flush(true)));
      // Back from the back/forward cache: the page is shown again.
      w.addEventListener('pageshow', safe((e) => e.persisted && pageview()));

      d.addEventListener('click', safe(onClick), true);
      d.addEventListener('auxclick', safe(onClick), true);
    });

    // A prerendered page counts once the visitor really opens it. Until
    // then, calls to teller() are queued as by the stub.
    if (d.prerendering) {
      w.teller =
        w.teller ||
        function () {
          (w.teller.q = w.teller.q || []).push(arguments);
        };
      d.addEventListener('prerenderingchange', start, { once: true });
    } else {
      start();
    }
  })();
})();
