// The threefold storefront: one page drawn from the shop's public API (/api/...).
//
// Every stage serves this same file (shop/web/storefront.py). Views are chosen by the
// URL's hash (#/, #/product/SKU, #/cart, #/order/ID), so the server needs one page only.
// Every value from the API or the shopper goes into the page as text (textContent, DOM
// nodes), never as HTML: product names are user input. The cart lives in localStorage.
"use strict";

(() => {
  const PER_PAGE = 12;
  const MAX_QUANTITY = 100; // per order line, as the shop's rules say
  const STOCK_REFRESH_MS = 2000;
  const CART_KEY = "threefold.cart.v1";
  const CARD_TOKENS = [
    ["tok_visa", "Visa test card (approved)"],
    ["tok_mastercard", "Mastercard test card (approved)"],
    ["tok_decline", "Declined test card (tok_decline)"],
  ];
  const REASONS = {
    out_of_stock: "some items were out of stock. Nothing was charged.",
    payment_declined: "the card was declined. Nothing was charged and the items are back in stock.",
    payment_failed: "the payment provider failed. Nothing was charged; please try again.",
  };

  const main = document.getElementById("main");
  const notice = document.getElementById("notice");
  let stageName = "";
  let view = 0; // bumped on every route change: answers for an older view are dropped
  let timer = null; // the current view's refresh (stock, order status)

  // --- DOM helpers: text only ----------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function show(...nodes) {
    main.replaceChildren(...nodes);
    const heading = main.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: true });
    }
  }

  function money(cents, currency) {
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
    } catch {
      return `${(cents / 100).toFixed(2)} ${currency}`;
    }
  }

  // A generated picture: the product's first letter on a colour taken from its sku.
  function placeholder(product, size) {
    let hash = 0;
    for (const ch of product.sku) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    const letter = ([...product.name.trim()][0] || "?").toUpperCase(); // a whole character
    return el("div", { class: `picture picture-${size} hue-${hash % 8}`, "aria-hidden": "true" }, letter);
  }

  // --- the API: answers, and problems in words -----------------------------------------

  class ShopError extends Error {
    constructor(status, title, detail, fields) {
      super(detail ? `${title}: ${detail}` : title);
      this.status = status;
      this.title = title;
      this.detail = detail || "";
      this.fields = fields || [];
    }

    get unavailable() {
      return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
    }
  }

  // A validation problem names the pattern a value missed: true, but no help to a shopper.
  function plain(text) {
    return text.replace(/String should match pattern '.*?'(?=;|$)/g, "not in the expected form");
  }

  function problemOf(status, body) {
    const title = body && typeof body.title === "string" ? body.title : `The shop answered ${status}`;
    const detail = body && typeof body.detail === "string" ? plain(body.detail) : "";
    const fields = [];
    if (body && Array.isArray(body.errors)) {
      for (const error of body.errors.slice(0, 5)) {
        const where = Array.isArray(error.loc) ? error.loc.filter((p) => p !== "body").join(" ") : "";
        if (typeof error.msg !== "string") continue;
        const line = plain(where ? `${where}: ${error.msg}` : error.msg);
        if (!detail.includes(line)) fields.push(line);
      }
    }
    return new ShopError(status, title, detail, fields);
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json, application/problem+json", ...(options.headers || {}) };
    let response;
    try {
      response = await fetch(path, { ...options, headers, cache: "no-store" });
    } catch {
      throw new ShopError(0, "The shop cannot be reached", "");
    }
    let body = null;
    if ((response.headers.get("Content-Type") || "").includes("json")) {
      try {
        body = await response.json();
      } catch {
        body = null;
      }
    }
    if (!response.ok) throw problemOf(response.status, body);
    return body;
  }

  function explain(error) {
    if (!(error instanceof ShopError)) return ["Something went wrong in this page.", String(error)];
    const who = stageName ? `The ${stageName} stage` : "The shop";
    if (error.status === 0) {
      return [`${who} is not answering: it may be down or restarting.`, "Try again in a moment."];
    }
    if (error.unavailable) {
      const words = error.detail ? `${error.title}: ${error.detail}` : error.title;
      return [`${who} is temporarily unavailable (${words}).`, "Try again in a moment."];
    }
    return [error.detail ? `${error.title}: ${error.detail}` : error.title, ...error.fields];
  }

  function problemBox(error) {
    const [first, ...more] = explain(error);
    return el("div", { class: "problem", role: "alert" }, el("p", null, first), more.map((line) => el("p", null, line)));
  }

  function setNotice(error) {
    if (!error) {
      notice.hidden = true;
      notice.replaceChildren();
      return;
    }
    const [first, ...more] = explain(error);
    notice.replaceChildren(el("p", null, first), more.map((line) => el("p", null, line)));
    notice.hidden = false;
  }

  // --- the cart, kept in this browser ----------------------------------------------------

  function readCart() {
    try {
      const lines = JSON.parse(localStorage.getItem(CART_KEY) || "[]");
      if (!Array.isArray(lines)) return [];
      return lines.filter(
        (line) =>
          line &&
          typeof line.sku === "string" &&
          typeof line.name === "string" &&
          Number.isInteger(line.price_cents) &&
          typeof line.currency === "string" &&
          Number.isInteger(line.quantity) &&
          line.quantity >= 1,
      );
    } catch {
      return [];
    }
  }

  function writeCart(lines) {
    localStorage.setItem(CART_KEY, JSON.stringify(lines));
    updateCartCount();
  }

  function updateCartCount() {
    const count = readCart().reduce((sum, line) => sum + line.quantity, 0);
    document.getElementById("cart-count").textContent = String(count);
  }

  function addToCart(product, quantity) {
    const lines = readCart();
    const line = lines.find((l) => l.sku === product.sku);
    if (line) line.quantity = Math.min(MAX_QUANTITY, line.quantity + quantity);
    else {
      const { sku, name, price_cents, currency } = product;
      lines.push({ sku, name, price_cents, currency, quantity: Math.min(MAX_QUANTITY, quantity) });
    }
    writeCart(lines);
  }

  function totals(lines) {
    const byCurrency = new Map();
    for (const line of lines) {
      byCurrency.set(line.currency, (byCurrency.get(line.currency) || 0) + line.price_cents * line.quantity);
    }
    return [...byCurrency].map(([currency, cents]) => money(cents, currency)).join(" + ");
  }

  // --- views -------------------------------------------------------------------------

  async function productList(params) {
    const mine = view;
    const q = params.get("q") || "";
    const page = Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);
    const search = el("input", { id: "search", type: "search", name: "q", value: q, maxlength: 100, autocomplete: "off" });
    const form = el(
      "form",
      {
        role: "search",
        class: "search",
        onsubmit: (event) => {
          event.preventDefault();
          location.hash = listHash(search.value.trim(), 1);
        },
      },
      el("label", { for: "search" }, "Search products"),
      el("div", { class: "row" }, search, el("button", { type: "submit" }, "Search")),
    );
    const results = el("div", { class: "results" }, el("p", { class: "muted" }, "Loading products..."));
    show(el("h1", null, q ? `Products matching "${q}"` : "Products"), form, results);

    const query = new URLSearchParams({ q, page: String(page), per_page: String(PER_PAGE) });
    let answer;
    try {
      answer = await api(`/api/products?${query}`);
    } catch (error) {
      if (mine === view) results.replaceChildren(problemBox(error));
      return;
    }
    if (mine !== view) return;
    const pages = Math.max(1, Math.ceil(answer.total / answer.per_page));
    const count = answer.total === 1 ? "1 product" : `${answer.total} products`;
    const cards = answer.items.map((product) =>
      el(
        "li",
        { class: "card" },
        el(
          "a",
          { href: `#/product/${encodeURIComponent(product.sku)}`, class: "card-link" },
          placeholder(product, "small"),
          el("span", { class: "card-name" }, product.name),
          el("span", { class: "card-price" }, money(product.price_cents, product.currency)),
        ),
      ),
    );
    const paging = el(
      "nav",
      { class: "paging", "aria-label": "Pages" },
      page > 1 ? el("a", { href: listHash(q, page - 1), rel: "prev" }, "Previous") : null,
      el("span", null, `Page ${page} of ${pages}`),
      page < pages ? el("a", { href: listHash(q, page + 1), rel: "next" }, "Next") : null,
    );
    results.replaceChildren(
      el("p", { class: "muted", id: "result-count", role: "status" }, count),
      answer.items.length ? el("ul", { class: "cards" }, cards) : el("p", null, "Nothing found. Try another word."),
      paging,
    );
  }

  function listHash(q, page) {
    const params = new URLSearchParams();
    if (q) params.set("q", q);
    if (page > 1) params.set("page", String(page));
    const text = params.toString();
    return text ? `#/?${text}` : "#/";
  }

  async function productPage(sku) {
    const mine = view;
    show(el("p", { class: "muted" }, "Loading the product..."));
    let product;
    try {
      product = await api(`/api/products/${encodeURIComponent(sku)}`);
    } catch (error) {
      if (mine === view) show(el("h1", null, "Product"), problemBox(error), el("p", null, el("a", { href: "#/" }, "Back to the products")));
      return;
    }
    if (mine !== view) return;

    const stock = el("p", { class: "stock", id: "stock", "aria-live": "polite" }, "Checking the stock...");
    const quantity = el("input", { id: "quantity", type: "number", min: 1, max: MAX_QUANTITY, value: 1, inputmode: "numeric" });
    const added = el("p", { class: "added", role: "status" });
    const add = el("button", { type: "submit", id: "add-to-cart" }, "Add to cart");
    const form = el(
      "form",
      {
        class: "buy",
        onsubmit: (event) => {
          event.preventDefault();
          const wanted = Number.parseInt(quantity.value, 10);
          if (!Number.isInteger(wanted) || wanted < 1 || wanted > MAX_QUANTITY) {
            added.textContent = `Choose a quantity from 1 to ${MAX_QUANTITY}.`;
            return;
          }
          addToCart(product, wanted);
          added.replaceChildren(`Added ${wanted} \u00d7 ${product.name} to the cart. `, el("a", { href: "#/cart" }, "Go to the cart"));
        },
      },
      el("label", { for: "quantity" }, "Quantity"),
      el("div", { class: "row" }, quantity, add),
    );
    show(
      el("p", null, el("a", { href: "#/" }, "\u2190 All products")),
      el(
        "article",
        { class: "product" },
        placeholder(product, "large"),
        el(
          "div",
          { class: "product-info" },
          el("h1", { id: "product-name" }, product.name),
          el("p", { class: "sku" }, `SKU ${product.sku}`),
          el("p", { class: "price", id: "price" }, money(product.price_cents, product.currency)),
          product.description ? el("p", { class: "description" }, product.description) : null,
          stock,
          form,
          added,
        ),
      ),
    );

    // Live stock: read now, then again every few seconds while this product is shown.
    const refresh = async () => {
      if (mine !== view) return;
      if (document.hidden) {
        timer = setTimeout(refresh, STOCK_REFRESH_MS); // nobody is looking: ask later
        return;
      }
      try {
        const level = await api(`/api/stock/${encodeURIComponent(product.sku)}`);
        if (mine !== view) return;
        stock.dataset.available = String(level.available);
        const words = level.available > 0 ? `${level.available} in stock` : "Out of stock";
        if (stock.textContent !== words) stock.textContent = words; // announced on change only
        stock.classList.toggle("out", level.available === 0);
      } catch (error) {
        if (mine !== view) return;
        delete stock.dataset.available;
        stock.textContent = error.status === 404 ? "No stock recorded for this product" : explain(error)[0];
      }
      if (mine === view) timer = setTimeout(refresh, STOCK_REFRESH_MS);
    };
    refresh();
  }

  // The key of the checkout under way: sent again only with the same order after a lost
  // answer (no answer, 502, 504), so a retry never places a second order.
  let pendingCheckout = null;

  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // focusId: the control to give the focus back to after the cart is drawn again.
  function cartPage(focusId) {
    const lines = readCart();
    if (!lines.length) {
      show(el("h1", null, "Your cart"), el("p", null, "Your cart is empty. ", el("a", { href: "#/" }, "Find something you like.")));
      return;
    }
    const rows = lines.map((line, index) => {
      const id = `qty-${index}`;
      const input = el("input", {
        id,
        type: "number",
        min: 1,
        max: MAX_QUANTITY,
        value: line.quantity,
        inputmode: "numeric",
        onchange: () => {
          const wanted = Number.parseInt(input.value, 10);
          const current = readCart();
          const target = current.find((l) => l.sku === line.sku);
          if (target && Number.isInteger(wanted) && wanted >= 1 && wanted <= MAX_QUANTITY) target.quantity = wanted;
          writeCart(current);
          cartPage(id);
        },
      });
      const remove = el(
        "button",
        {
          type: "button",
          class: "link-button",
          onclick: () => {
            writeCart(readCart().filter((l) => l.sku !== line.sku));
            cartPage();
          },
        },
        "Remove",
        el("span", { class: "visually-hidden" }, ` ${line.name}`),
      );
      return el(
        "li",
        { class: "cart-line" },
        el("a", { href: `#/product/${encodeURIComponent(line.sku)}`, class: "cart-name" }, line.name),
        el("span", { class: "muted cart-each" }, `${money(line.price_cents, line.currency)} each`),
        el("span", { class: "cart-qty" }, el("label", { for: id }, "Quantity"), input),
        el("span", { class: "cart-total" }, money(line.price_cents * line.quantity, line.currency)),
        remove,
      );
    });

    const email = el("input", { id: "email", type: "email", name: "email", required: true, autocomplete: "email", maxlength: 254 });
    const card = el("select", { id: "card", name: "card" }, CARD_TOKENS.map(([token, label]) => el("option", { value: token }, label)));
    const place = el("button", { type: "submit", id: "place-order" }, "Place order");
    const outcome = el("div", { id: "checkout-outcome", "aria-live": "polite" });
    const form = el(
      "form",
      {
        class: "checkout",
        onsubmit: async (event) => {
          event.preventDefault();
          const order = {
            email: email.value.trim(),
            payment_token: card.value,
            lines: readCart().map((l) => ({ sku: l.sku, quantity: l.quantity })),
          };
          const body = JSON.stringify(order);
          const key = pendingCheckout && pendingCheckout.body === body ? pendingCheckout.key : newKey();
          pendingCheckout = { body, key };
          place.disabled = true;
          outcome.replaceChildren(el("p", { class: "muted" }, "Placing your order..."));
          try {
            const placed = await api("/api/orders", {
              method: "POST",
              headers: { "Content-Type": "application/json", "Idempotency-Key": key },
              body,
            });
            pendingCheckout = null;
            writeCart([]);
            location.hash = `#/order/${encodeURIComponent(placed.id)}`;
          } catch (error) {
            // Only a lost answer may have placed the order: keep the key for a retry.
            if (!(error instanceof ShopError && [0, 502, 504].includes(error.status))) pendingCheckout = null;
            outcome.replaceChildren(problemBox(error));
            place.disabled = false;
          }
        },
      },
      el("h2", null, "Checkout"),
      el("label", { for: "email" }, "Email"),
      email,
      el("label", { for: "card" }, "Card (test tokens)"),
      card,
      el("p", { class: "muted small" }, "No real card is used: the shop takes a payment token. tok_decline is always declined."),
      place,
      outcome,
    );
    show(el("h1", null, "Your cart"), el("ul", { class: "cart" }, rows), el("p", { class: "cart-sum" }, "Total: ", el("strong", { id: "cart-total" }, totals(lines))), form);
    if (focusId) document.getElementById(focusId)?.focus();
  }

  async function orderPage(id) {
    const mine = view;
    const status = el("p", { class: "status", id: "order-status", "aria-live": "polite" }, "Looking the order up...");
    const reason = el("p", { class: "reason", id: "order-reason" });
    const details = el("div", { class: "order-details" });
    const trouble = el("div", { class: "trouble" });
    show(el("h1", null, "Your order"), el("p", { class: "sku" }, `Order ${id}`), status, reason, trouble, details);

    let delay = 400;
    let drawn = false;
    const poll = async () => {
      let order;
      try {
        order = await api(`/api/orders/${encodeURIComponent(id)}`);
      } catch (error) {
        if (mine !== view) return;
        trouble.replaceChildren(problemBox(error));
        if (error.status === 404 || error.status === 422) {
          status.textContent = "This order is unknown.";
          return; // no use asking again
        }
        timer = setTimeout(poll, (delay = Math.min(delay * 2, 5000)));
        return;
      }
      if (mine !== view) return;
      trouble.replaceChildren();
      status.dataset.status = order.status;
      status.className = `status status-${order.status}`;
      if (order.status === "pending") status.textContent = "Pending: reserving the stock and charging the card...";
      else if (order.status === "confirmed") status.textContent = "Confirmed: thank you! A confirmation is on its way.";
      else status.textContent = "Rejected";
      reason.textContent = order.reason ? `Why: ${REASONS[order.reason] || order.reason} (${order.reason})` : "";
      if (!drawn) {
        drawn = true;
        details.replaceChildren(
          el("p", null, `For ${order.email}`),
          el(
            "ul",
            { class: "order-lines" },
            order.lines.map((line) =>
              el(
                "li",
                null,
                el("a", { href: `#/product/${encodeURIComponent(line.sku)}` }, line.sku),
                ` \u00d7 ${line.quantity}: ${money(line.line_total_cents, order.currency)}`,
              ),
            ),
          ),
          el("p", null, "Total: ", el("strong", null, money(order.total_cents, order.currency))),
          el("p", null, el("a", { href: "#/" }, "Continue shopping")),
        );
      }
      if (order.status === "pending") timer = setTimeout(poll, (delay = Math.min(delay * 1.5, 2000)));
    };
    poll();
  }

  // --- routing ---------------------------------------------------------------------------

  function route() {
    view += 1;
    clearTimeout(timer);
    timer = null;
    setNotice(null);
    const hash = location.hash.replace(/^#/, "") || "/";
    const [path, search] = hash.split("?");
    try {
      const parts = path.split("/").filter(Boolean).map(decodeURIComponent); // may throw on a bad %
      if (parts.length === 0) productList(new URLSearchParams(search || ""));
      else if (parts[0] === "product" && parts.length === 2) productPage(parts[1]);
      else if (parts[0] === "cart" && parts.length === 1) cartPage();
      else if (parts[0] === "order" && parts.length === 2) orderPage(parts[1]);
      else show(el("h1", null, "Not found"), el("p", null, "This page does not exist. ", el("a", { href: "#/" }, "See the products.")));
    } catch (error) {
      setNotice(error);
    }
  }

  async function loadStage() {
    const label = document.getElementById("stage");
    try {
      const config = await api("/storefront/config.json");
      stageName = String(config.stage);
      label.textContent = `served by the ${stageName} stage`;
      document.body.dataset.stage = stageName;
    } catch (error) {
      label.textContent = "stage unknown";
      setNotice(error);
    }
  }

  window.addEventListener("hashchange", route);
  window.addEventListener("storage", updateCartCount); // the cart changed in another tab
  updateCartCount();
  // The stage's name first (one small request to the same server): a problem shown by the
  // first view then names the stage that answered, never "the shop" for want of the name.
  loadStage().then(route);
})();
