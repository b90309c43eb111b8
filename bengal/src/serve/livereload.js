// Bengal live reload: injected into HTML by `bengal serve` only, never written to disk.
//
// The server says which output files each build wrote. This page fetches
// itself and patches its body in place when it is among them (scroll,
// focus, open <details> and form input survive), swaps a changed
// stylesheet, and reloads only when its <head> changed otherwise. A failed
// build shows its errors in an overlay isolated in a shadow root.
(() => {
  const script = document.currentScript;
  const file = script.dataset.file; // absent on the page of a failed first build
  const scrollKey = "bengal-scroll:" + location.pathname;
  const saved = sessionStorage.getItem(scrollKey);
  if (saved !== null) {
    sessionStorage.removeItem(scrollKey);
    addEventListener("load", () => scrollTo(0, Number(saved)));
  }

  function reload() {
    sessionStorage.setItem(scrollKey, String(scrollY));
    location.reload();
  }

  // The output file a URL path is served from: `/a/` → `a/index.html`.
  function outputFile(pathname) {
    let path = pathname;
    try {
      path = decodeURIComponent(pathname);
    } catch {
      // A stray `%` (`/100%.png`) stays as it is.
    }
    path = path.replace(/^\/+/, "");
    return path === "" || path.endsWith("/") ? path + "index.html" : path;
  }

  function isLocal(url) {
    return url.origin === location.origin;
  }

  // Swap each changed stylesheet for a fresh copy, removing the old one only
  // once the new one has loaded, so the page never shows unstyled. Only the
  // newest copy of a stylesheet is swapped: one still loading when the next
  // save comes is replaced in turn, and the links it was to remove go with
  // it, so quick saves leave one link.
  function swapStylesheets(changed) {
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href);
      if (link.bengalReplaced || !isLocal(url) || !changed.has(outputFile(url.pathname))) continue;
      url.searchParams.set("bengal", Date.now());
      const fresh = link.cloneNode();
      fresh.href = url.href;
      const stale = [link, ...(link.bengalStale || [])];
      fresh.bengalStale = stale;
      link.bengalReplaced = true;
      fresh.addEventListener("load", () => stale.forEach((old) => old.remove()));
      fresh.addEventListener("error", () => {
        fresh.remove();
        link.bengalReplaced = false;
      });
      link.after(fresh);
    }
  }

  // Whether the page uses one of `files` other than through a stylesheet
  // link: a script, an image, a frame, an icon… which only a reload brings
  // in. (A feed it links to is not used.)
  function usesAny(files) {
    const used = "[src], link[href][rel~=icon], link[href][rel=preload], link[href][rel=modulepreload], link[href][rel=manifest]";
    for (const node of document.querySelectorAll(used)) {
      const url = new URL(node.src || node.href, location.href);
      if (isLocal(url) && files.has(outputFile(url.pathname))) return true;
    }
    return false;
  }

  // --- morph: make `from` look like `to`, keeping every node that can stay ---

  function sameKind(a, b) {
    return a.nodeType === b.nodeType && a.nodeName === b.nodeName && (a.id || "") === (b.id || "");
  }

  function isFormControl(node) {
    return node.nodeName === "INPUT" || node.nodeName === "TEXTAREA" || node.nodeName === "SELECT";
  }

  // Attributes the reader changes, which the new HTML knows nothing of.
  function keptAttribute(node, name) {
    return (node.nodeName === "DETAILS" && name === "open") || (isFormControl(node) && (name === "value" || name === "checked"));
  }

  function morphAttributes(from, to) {
    for (const { name } of [...from.attributes]) {
      if (!to.hasAttribute(name) && !keptAttribute(from, name)) from.removeAttribute(name);
    }
    for (const { name, value } of [...to.attributes]) {
      if (from.getAttribute(name) !== value && !keptAttribute(from, name)) from.setAttribute(name, value);
    }
  }

  function morph(from, to) {
    if (from.nodeType !== Node.ELEMENT_NODE) {
      if (from.nodeValue !== to.nodeValue) from.nodeValue = to.nodeValue;
      return;
    }
    morphAttributes(from, to);
    // What the reader typed stays; the default text of a textarea may change.
    if (from.nodeName === "TEXTAREA") return;
    morphChildren(from, to);
  }

  function morphChildren(from, to) {
    let old = from.firstChild;
    for (let next = to.firstChild; next; ) {
      const following = next.nextSibling;
      if (!old) {
        from.appendChild(document.importNode(next, true));
      } else if (!old.isEqualNode(next) && following && old.isEqualNode(following)) {
        // One node inserted before an unchanged one.
        from.insertBefore(document.importNode(next, true), old);
      } else {
        // One node removed before an unchanged one.
        if (!old.isEqualNode(next) && old.nextSibling && old.nextSibling.isEqualNode(next)) {
          const gone = old;
          old = old.nextSibling;
          gone.remove();
        }
        if (sameKind(old, next)) {
          if (!old.isEqualNode(next)) morph(old, next);
          old = old.nextSibling;
        } else {
          const fresh = document.importNode(next, true);
          from.replaceChild(fresh, old);
          old = fresh.nextSibling;
        }
      }
      next = following;
    }
    while (old) {
      const gone = old;
      old = old.nextSibling;
      gone.remove();
    }
  }

  // The parts of a <head> that only a reload can apply: everything but the
  // title, stylesheets and this script.
  function headSignature(head) {
    return [...head.children]
      .filter((node) => node.nodeName !== "TITLE" && !(node.nodeName === "LINK" && node.rel === "stylesheet"))
      .map((node) => node.outerHTML)
      .join("\n");
  }

  // The stylesheets a head links, as a sorted list of paths: a copy being
  // swapped in (same path, new query) is the same stylesheet.
  function stylesheets(head) {
    const links = [...head.querySelectorAll('link[rel="stylesheet"]')];
    return [...new Set(links.map((link) => new URL(link.getAttribute("href"), location.href).pathname))].sort().join();
  }

  function scripts(root) {
    return [...root.querySelectorAll("script")].filter((node) => !node.src.includes("/__bengal/")).map((node) => node.outerHTML).join("\n");
  }

  let patching = Promise.resolve();

  // Fetches this page again and patches it in place, or reloads when that
  // cannot be done faithfully (its head or scripts changed).
  function refresh() {
    patching = patching.then(async () => {
      const response = await fetch(location.href, { cache: "no-store" });
      if (!response.ok) return reload();
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const sameHead = headSignature(fresh.head) === headSignature(document.head);
      const sameStyles = stylesheets(fresh.head) === stylesheets(document.head);
      if (!sameHead || !sameStyles || scripts(fresh.body) !== scripts(document.body)) return reload();
      if (document.title !== fresh.title) document.title = fresh.title;
      morphAttributes(document.body, fresh.body);
      morphChildren(document.body, fresh.body);
      dispatchEvent(new CustomEvent("bengal:updated"));
    }).catch(reload);
  }

  // What this page does about a build: "reload", "patch" (its own file
  // changed), "styles" (only stylesheets it links) or "none".
  function plan(changed, removed) {
    if (file === undefined) return changed.size || removed.size ? "reload" : "none";
    // A page shown for a URL that had none (the 404 page) now exists.
    if (file !== outputFile(location.pathname) && changed.has(outputFile(location.pathname))) return "reload";
    if (removed.has(file) || usesAny(new Set([...changed, ...removed]))) return "reload";
    if (changed.has(file)) return "patch";
    const linked = [...document.querySelectorAll('link[rel="stylesheet"]')].some((link) => {
      const url = new URL(link.href);
      return isLocal(url) && changed.has(outputFile(url.pathname));
    });
    return linked ? "styles" : "none";
  }

  function update(data) {
    overlay.hide();
    const changed = new Set(data.changed);
    const removed = new Set(data.removed);
    const action = plan(changed, removed);
    // Told to the page's own scripts (and to tests), before it happens.
    dispatchEvent(new CustomEvent("bengal:update", { detail: { action, changed: data.changed, removed: data.removed } }));
    if (action === "reload") return reload();
    if (action === "patch") refresh();
    swapStylesheets(changed);
  }

  // --- the error overlay: a custom element with its own shadow root, so the
  // page's CSS and scripts can neither restyle nor hide it ---

  const OVERLAY_CSS = `
    :host { all: initial !important; position: fixed !important; inset: 0 !important;
      z-index: 2147483647 !important; display: block !important; overflow: auto !important;
      background: rgba(15, 15, 18, .92) !important; opacity: 1 !important; visibility: visible !important; }
    .panel, .panel * { font: 14px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #f2f2f2;
      text-align: left; letter-spacing: normal; text-transform: none; }
    .panel { max-width: 960px; margin: 5vh auto; padding: 24px 28px; background: #1d1d22;
      border-top: 5px solid #ff5c5c; border-radius: 6px; box-shadow: 0 12px 40px rgba(0, 0, 0, .5); }
    header { display: flex; justify-content: space-between; align-items: center; gap: 16px; }
    h2 { margin: 0; font-size: 18px; color: #ff8080; }
    button { all: unset; cursor: pointer; color: #f2f2f2; background: #34343c; padding: 4px 10px; border-radius: 4px; }
    button:focus-visible { outline: 2px solid #9ecbff; }
    .error { margin-top: 20px; }
    .file { color: #9ecbff; }
    .message { margin: 6px 0; color: #ffd0d0; white-space: pre-wrap; word-break: break-word; }
    pre { margin: 8px 0; padding: 10px 0; background: #121215; color: #e6e6e6; border-radius: 4px; overflow-x: auto; }
    .line { display: block; padding: 0 12px; white-space: pre; }
    .line.at { background: #4a1f24; color: #ffffff; }
    .line.caret { color: #ff8080; }
    .number { display: inline-block; min-width: 4ch; margin-right: 12px; text-align: right; color: #8a8a96; }
    .hint { color: #b5e8b0; }
    footer { margin-top: 20px; color: #b0b0ba; }
  `;

  class ErrorOverlay extends HTMLElement {
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
    }

    show(errors) {
      const root = this.shadowRoot;
      root.replaceChildren();
      const el = (tag, attrs, ...children) => {
        const node = document.createElement(tag);
        Object.assign(node, attrs);
        node.append(...children);
        return node;
      };
      const close = el("button", { type: "button", title: "Close (Esc)", textContent: "Close ✕" });
      close.addEventListener("click", () => overlay.hide());
      const title = errors.length === 1 ? "Build failed" : `Build failed: ${errors.length} errors`;
      const panel = el("div", { className: "panel" }, el("header", {}, el("h2", { textContent: title }), close));
      for (const error of errors) {
        const where = [error.file, error.line, error.column].filter((part) => part != null).join(":");
        const box = el("section", { className: "error" });
        if (where) box.append(el("div", { className: "file", textContent: where }));
        box.append(el("div", { className: "message", textContent: error.message }));
        if (error.excerpt.length) {
          const pre = el("pre");
          error.excerpt.forEach((text, i) => {
            const number = error.excerpt_start + i;
            const line = el("span", { className: number === error.line ? "line at" : "line" });
            line.append(el("span", { className: "number", textContent: (number === error.line ? "> " : "") + number }), text);
            pre.append(line);
            if (number === error.line && error.column) {
              const caret = el("span", { className: "line caret" });
              caret.append(el("span", { className: "number" }), " ".repeat(error.column - 1) + "^");
              pre.append(caret);
            }
          });
          box.append(pre);
        }
        if (error.hint) box.append(el("div", { className: "hint", textContent: "help: " + error.hint }));
        panel.append(box);
      }
      panel.append(el("footer", { textContent: "The last good build is still served. Fix the file and save: this goes away." }));
      root.append(el("style", { textContent: OVERLAY_CSS }), panel);
    }
  }

  const TAG = "bengal-error-overlay";
  if (!customElements.get(TAG)) customElements.define(TAG, ErrorOverlay);

  const overlay = {
    show(errors) {
      let node = document.querySelector(TAG);
      if (!node) {
        node = document.createElement(TAG);
        node.setAttribute("role", "alert");
        document.documentElement.append(node);
      }
      node.show(errors);
    },
    hide() {
      document.querySelector(TAG)?.remove();
    },
  };

  addEventListener("keydown", (event) => {
    if (event.key === "Escape") overlay.hide();
  });

  const source = new EventSource("/__bengal/livereload?since=" + encodeURIComponent(script.dataset.build || ""));
  source.addEventListener("update", (event) => update(JSON.parse(event.data)));
  source.addEventListener("reload", reload);
  source.addEventListener("build-error", (event) => overlay.show(JSON.parse(event.data).errors));
})();
