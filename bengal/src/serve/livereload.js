// Bengal live reload: injected into HTML by `bengal serve` only, never written to disk.
(() => {
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

  // Swap each stylesheet for a fresh copy, removing the old one only once the
  // new one has loaded, so the page never shows unstyled.
  function swapStylesheets() {
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href);
      url.searchParams.set("bengal", Date.now());
      const fresh = link.cloneNode();
      fresh.href = url.href;
      fresh.addEventListener("load", () => link.remove());
      link.after(fresh);
    }
  }

  function showError(error) {
    let overlay = document.getElementById("bengal-error-overlay");
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "bengal-error-overlay";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText =
        "position:fixed;inset:0;z-index:2147483647;overflow:auto;padding:2rem;" +
        "background:rgba(20,20,20,.94);color:#f5f5f5;font:15px/1.5 ui-monospace,Menlo,Consolas,monospace";
      document.body.append(overlay);
    }
    overlay.replaceChildren();
    const add = (tag, text, css) => {
      const node = document.createElement(tag);
      node.textContent = text;
      node.style.cssText = css || "";
      overlay.append(node);
    };
    add("h2", "Build failed", "margin:0 0 1rem;color:#ff6b6b;font-size:1.3rem");
    if (error.file) add("p", error.file + (error.line ? ":" + error.line : ""), "margin:0 0 .5rem;color:#9ecbff");
    add("pre", error.message, "white-space:pre-wrap;margin:0 0 1rem");
    if (error.hint) add("p", "help: " + error.hint, "margin:0 0 1rem;color:#b5e8b0");
    add("p", "The last good build is still served. Fix the file and save: this page reloads.", "color:#aaa");
  }

  let lost = false;
  const source = new EventSource("/__bengal/livereload");
  source.addEventListener("open", () => {
    // The server came back (restarted, or the machine woke up): catch up.
    if (lost) reload();
  });
  source.addEventListener("error", () => {
    lost = true;
  });
  source.addEventListener("reload", reload);
  source.addEventListener("css", swapStylesheets);
  source.addEventListener("build-error", (event) => showError(JSON.parse(event.data)));
})();
