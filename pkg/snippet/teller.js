/*
 * Teller tracking snippet: the source of teller.min.js, which the collector
 * serves at /teller.js. After any change, run ./build.sh (a Go test fails
 * while teller.min.js is older than this file).
 *
 * Rules: ES5 syntax (so that an old browser parses it: a syntax error would
 * be thrown into the host page; a Go test parses the build as ES5), no
 * dependencies, at most 2 KB gzipped, and never an error thrown into the
 * host page: every entry point is wrapped in `safe`, so a newer API that an
 * old browser lacks (fetch, URL, ...) makes the snippet do less, not throw.
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
 * that the visitor cookie the collector sets comes back. Events of one
 * moment travel together, as a JSON array in one request: they are queued
 * and sent at the end of the current task (an app navigation's engagement
 * and page view, the first page view and the calls queued before this
 * script ran), or at once by beacon when the page is hidden or left; a
 * request holds at most MAX_BATCH events and about MAX_CHARS characters
 * (the collector's batch and body limits). The collector refuses an unknown
 * kind or a bad field, so this file and the collector's event decoder must
 * change together. Fields (empty ones are left out):
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
(function () {
  'use strict';

  var w = window;
  var d = document;
  var loc = location;
  var MAX_PROPS = 30;
  var MAX_BATCH = 50; // events per request: the collector's collector.MaxBatch
  var MAX_CHARS = 5000; // characters per request: at most 15,000 bytes, under the collector's 16 KiB
  var MIN_ENGAGED_MS = 1000;
  // Links to these files count as downloads (matched on the URL's path).
  var FILE =
    /\.(pdf|docx?|xlsx?|pptx?|od[tsp]|rtf|txt|csv|epub|zip|rar|7z|gz|tgz|bz2|xz|tar|dmg|pkg|exe|msi|deb|rpm|apk|iso|mp[34]|m4[av]|wav|flac|ogg|mov|avi|wmv|mkv|webm|mpe?g)$/i;

  // safe wraps an entry point so that an error of ours never reaches the page.
  var safe = function (f) {
    return function () {
      try {
        return f.apply(this, arguments);
      } catch (e) {
        // Analytics must never break the site.
      }
    };
  };

  safe(function () {
    var script = d.currentScript || d.querySelector('script[data-site][src*="teller"]');
    // No tag to read, or the script is on the page twice: do nothing.
    if (!script || (w.teller && w.teller.l)) return;
    var has = function (name) {
      return script.hasAttribute('data-' + name);
    };
    var site = script.getAttribute('data-site');
    var api = script.getAttribute('data-api') || new URL(script.src).origin + '/api/event';
    var hashMode = has('hash');
    // Opted out: teller() stays callable, and does nothing.
    var off = function () {
      w.teller = function () {};
    };
    var n = navigator;
    if (has('respect-dnt') && (n.doNotTrack == '1' || w.doNotTrack == '1' || n.globalPrivacyControl)) return off();
    if (!has('allow-localhost') && (loc.protocol == 'file:' || /^(.*\.)?localhost$|^127(\.\d+){3}$|^\[::1\]$/.test(loc.hostname))) return off();
    try {
      if (localStorage.teller_ignore == 'true') return off();
    } catch (e) {
      // Storage blocked: no opt-out to read.
    }

    // The page being measured, and what it has done so far.
    var pageURL; // location.href at its page view
    var pageKey; // what tells pages apart: path and query (and hash in hash mode)
    var engagedMs; // visible time counted before `since`
    var since; // performance.now() when the page last became visible; 0 while hidden
    var depth; // deepest scroll seen, in percent of the page's height

    var now = function () {
      return performance.now();
    };
    var hidden = function () {
      return d.visibilityState === 'hidden';
    };
    var key = function () {
      return loc.pathname + loc.search + (hashMode ? loc.hash : '');
    };

    // Queued events, each as its JSON text, and whether a send at the end
    // of the task is due.
    var queue = [];
    var due;

    var post = function (body, beacon) {
      if (beacon && n.sendBeacon && n.sendBeacon(api, new Blob([body], { type: 'text/plain' }))) return;
      fetch(api, {
        method: 'POST',
        body: body,
        keepalive: true,
        credentials: 'include',
        headers: { 'Content-Type': 'text/plain' },
      })['catch'](function () {});
    };

    // drain sends the queue: one event as an object, several as an array,
    // in requests of at most MAX_BATCH events and about MAX_CHARS.
    var drain = function (beacon) {
      var batch = [];
      var size = 0;
      var out = function () {
        if (batch.length) post(batch.length > 1 ? '[' + batch.join(',') + ']' : batch[0], beacon);
        batch = [];
        size = 0;
      };
      var all = queue;
      queue = [];
      for (var i = 0; i < all.length; i++) {
        if (batch.length && (batch.length >= MAX_BATCH || size + all[i].length > MAX_CHARS)) out();
        batch.push(all[i]);
        size += all[i].length + 1;
      }
      out();
    };

    // send queues one event, to go at the end of the current task with
    // whatever else the task sends (flush drains it at once by beacon when
    // the page is hidden or left). Fields in `fields` override the
    // defaults; empty values are left out.
    var send = function (kind, name, fields) {
      var event = {
        site: site,
        kind: kind,
        name: name,
        url: loc.href,
        title: d.title,
        screen_width: screen.width,
        screen_height: screen.height,
      };
      var k;
      for (k in fields) event[k] = fields[k];
      for (k in event) if (!event[k]) delete event[k];
      queue.push(JSON.stringify(event));
      if (!due) {
        due = 1;
        setTimeout(
          safe(function () {
            due = 0;
            drain(false);
          }),
          0
        );
      }
    };

    // props turns the site's properties into at most MAX_PROPS string values.
    var props = function (p) {
      var out;
      var count = 0;
      if (p && typeof p === 'object') {
        var keys = Object.keys(p);
        for (var i = 0; i < keys.length; i++) {
          var v = p[keys[i]];
          if (v == null || count >= MAX_PROPS) continue;
          (out = out || {})[keys[i]] = typeof v === 'object' ? JSON.stringify(v) : String(v);
          count++;
        }
      }
      return out;
    };

    var measureScroll = function () {
      var el = d.documentElement;
      var height = Math.max(el.scrollHeight, d.body ? d.body.scrollHeight : 0);
      var seen = (w.scrollY || el.scrollTop || 0) + w.innerHeight;
      var percent = height > 0 ? Math.min(100, Math.round((seen / height) * 100)) : 0;
      if (percent > depth) depth = percent;
    };

    var pageview = function (referrer) {
      pageURL = loc.href;
      pageKey = key();
      engagedMs = 0;
      since = hidden() ? 0 : now();
      depth = 0;
      measureScroll();
      send('pageview', 'pageview', { referrer: referrer });
    };

    // flush ends the current visible stretch and sends it as an engagement
    // event if the page was visible long enough; shorter time is kept.
    var flush = function (beacon) {
      if (since) engagedMs += now() - since;
      since = hidden() ? 0 : now();
      measureScroll();
      if (engagedMs >= MIN_ENGAGED_MS) {
        send('engagement', 'engagement', { url: pageURL, engaged_ms: Math.round(engagedMs), scroll_depth: depth });
        engagedMs = 0;
      }
      // Hidden or left: nothing queued may wait for a task that may not run.
      if (beacon) drain(true);
    };

    // route runs after every history change of a single-page app.
    var route = safe(function () {
      if (key() === pageKey) return;
      var previous = pageURL;
      flush(false);
      pageview(previous);
    });

    var onClick = function (e) {
      if (e.type === 'auxclick' && e.button !== 1) return; // middle click only
      var link = e.target.closest && e.target.closest('a[href],area[href]');
      if (!link) return;
      var href = link.href;
      if (typeof href !== 'string') href = href.baseVal; // an SVG link
      var u = new URL(href, loc.href);
      if (!/^https?:$/.test(u.protocol)) return;
      var event = link.hasAttribute('download') || FILE.test(u.pathname) ? 'File Download' : u.host !== loc.host ? 'Outbound Link: Click' : '';
      if (event) send('event', event, { props: { url: u.href } });
    };

    // teller is the public function: teller(name, {props: {...}}).
    var teller = safe(function (name, options) {
      if (name) send('event', String(name), { props: props(options && options.props) });
    });
    teller.l = 1; // loaded

    var on = function (target, type, f, options) {
      target.addEventListener(type, f, options);
    };

    var start = safe(function () {
      var queued = (w.teller && w.teller.q) || [];
      w.teller = teller;
      pageview(d.referrer);
      for (var i = 0; i < queued.length; i++) teller(queued[i][0], queued[i][1]);

      ['pushState', 'replaceState'].forEach(function (method) {
        var original = history[method];
        if (typeof original !== 'function') return;
        history[method] = function () {
          var result = original.apply(this, arguments);
          route();
          return result;
        };
      });
      on(w, 'popstate', route);
      if (hashMode) on(w, 'hashchange', route);

      on(w, 'scroll', safe(measureScroll), { passive: true });
      on(
        d,
        'visibilitychange',
        safe(function () {
          if (hidden()) flush(true);
          else if (!since) since = now();
        })
      );
      on(
        w,
        'pagehide',
        safe(function () {
          flush(true);
        })
      );
      // Back from the back/forward cache: the page is shown again.
      on(
        w,
        'pageshow',
        safe(function (e) {
          if (e.persisted) pageview();
        })
      );

      on(d, 'click', safe(onClick), true);
      on(d, 'auxclick', safe(onClick), true);
    });

    // A prerendered page counts once the visitor really opens it. Until
    // then, calls to teller() are queued as by the stub.
    if (d.prerendering) {
      w.teller =
        w.teller ||
        function () {
          (w.teller.q = w.teller.q || []).push(arguments);
        };
      on(d, 'prerenderingchange', start, { once: true });
    } else {
      start();
    }
  })();
})();
