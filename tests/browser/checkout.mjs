// A real-browser check of the hosted checkout page, driven by crates/ducat/tests/api/browser.rs.
//
// Environment:
//   MODE            pay (default) | expire | nojs
//   CHECKOUT_URL    the checkout_url the gateway answered
//   API_BASE        the gateway's base URL, for the sandbox bank
//   SECRET_KEY      the business's test secret key (Bearer)
//   ACCOUNT_NUMBER  the checkout's account number
//   AMOUNT          the naira to pay, as the gateway answered it (e.g. 1005 or 1005.5)
//   BANK_NAME, ACCOUNT_NAME   expected on the page (optional: then only non-empty)
//   CALLBACK_URL    the checkout's callback_url (optional)
//   SCREENSHOT_DIR  where the PNGs go (created if missing)
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//
// Prints one line per step, `PAGE_OPEN` once the page is up (the expire mode's cue to move the
// server's clock), and exits non-zero on the first failed assertion.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const SECOND = 1000;

function required(name) {
  const value = process.env[name];
  if (!value) {
    fail(`the environment variable ${name} is required`);
  }
  return value;
}

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

function ok(message) {
  console.log(`ok - ${message}`);
}

function check(condition, message) {
  if (!condition) {
    throw new AssertionFailure(message);
  }
  ok(message);
}

class AssertionFailure extends Error {}

const mode = process.env.MODE || "pay";
const checkoutUrl = required("CHECKOUT_URL");
const apiBase = required("API_BASE").replace(/\/+$/, "");
const secretKey = required("SECRET_KEY");
const accountNumber = required("ACCOUNT_NUMBER");
const amount = required("AMOUNT");
const bankName = process.env.BANK_NAME || "";
const accountName = process.env.ACCOUNT_NAME || "";
const callbackUrl = process.env.CALLBACK_URL || "";
const screenshotDir = required("SCREENSHOT_DIR");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const reference = new URL(checkoutUrl).pathname.split("/").filter(Boolean).pop();

if (!["pay", "expire", "nojs"].includes(mode)) {
  fail(`MODE must be pay, expire or nojs, not ${JSON.stringify(mode)}`);
}

/** Naira in kobo, from "1005", "1005.5" or "1005.50". */
function kobo(text) {
  const match = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(text).trim());
  if (!match) {
    fail(`AMOUNT ${JSON.stringify(text)} is not a naira amount`);
  }
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

/** "₦1,005.00", as the page writes it. */
function naira(minor) {
  const whole = String(Math.floor(minor / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `₦${whole}.${String(minor % 100).padStart(2, "0")}`;
}

function major(minor) {
  return `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`;
}

const amountKobo = kobo(amount);
const expectedReturnUrl = callbackUrl
  ? `${callbackUrl}${callbackUrl.includes("?") ? "&" : "?"}checkout_reference=${reference}&status=successful`
  : "";

/** A transfer into the checkout's account through the sandbox bank; answers its outcome. */
async function payThroughSandbox(minor) {
  const response = await fetch(`${apiBase}/sandbox/v1/bank/transfers`, {
    method: "POST",
    headers: { "Authorization": `Bearer ${secretKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ account_number: accountNumber, amount: major(minor) }),
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new AssertionFailure(`the sandbox transfer of ${naira(minor)} answered ${response.status}: ${text}`);
  }
  const outcome = JSON.parse(text).data;
  console.log(`sandbox transfer of ${naira(minor)}: ${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ""}`);
  return outcome;
}

async function screenshot(page, name) {
  const path = join(screenshotDir, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot ${path}`);
}

async function visible(page, selector) {
  return page.locator(selector).isVisible();
}

async function text(page, selector) {
  return ((await page.locator(selector).textContent()) || "").trim();
}

/** Which of the three sections is showing: exactly one must be. */
async function shownSection(page) {
  const shown = [];
  for (const id of ["pending", "paid", "expired"]) {
    if (await visible(page, `#${id}`)) {
      shown.push(id);
    }
  }
  return shown.join(",");
}

/** Waits for `selector` to be visible without touching the page; false after `ms`. */
async function becomesVisible(page, selector, ms) {
  try {
    await page.locator(selector).waitFor({ state: "visible", timeout: ms });
    return true;
  } catch {
    return false;
  }
}

/** The account details the customer needs, as the server rendered them. */
async function checkPendingDetails(page) {
  check((await shownSection(page)) === "pending", "only the pending section is shown");
  const shownAmount = await text(page, "#amount");
  check(shownAmount === naira(amountKobo), `the amount reads ${naira(amountKobo)} (page: ${shownAmount})`);
  const shownAccount = await text(page, "#account-number");
  check(shownAccount === accountNumber, `the account number reads ${accountNumber} (page: ${shownAccount})`);
  const shownBank = await text(page, "#bank-name");
  check(bankName ? shownBank === bankName : shownBank.length > 0, `the bank reads ${JSON.stringify(shownBank)}`);
  const shownName = await text(page, "#account-name");
  check(accountName ? shownName === accountName : shownName.length > 0, `the account name reads ${JSON.stringify(shownName)}`);
  for (const selector of ["#amount", "#bank-name", "#account-number", "#account-name", "#countdown"]) {
    check(await visible(page, selector), `${selector} is visible`);
  }
  const countdown = await text(page, "#countdown");
  check(/^\d+:[0-5]\d$/.test(countdown), `the countdown reads m:ss (${countdown})`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `nothing sticks out sideways at phone width (${width} CSS px wide)`);
  return countdown;
}

function seconds(countdown) {
  const [m, s] = countdown.split(":").map(Number);
  return m * 60 + s;
}

/** Fails on anything the page itself reports going wrong: script errors, CSP refusals. */
function watchForPageErrors(page, problems) {
  page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  page.on("console", (message) => {
    // Browsers ask every host for /favicon.ico; the gateway has none, which is not the page's fault.
    if (message.type() === "error" && !message.location().url.endsWith("/favicon.ico")) {
      problems.push(`console error: ${message.text()} (${message.location().url})`);
    }
  });
}

async function payMode(context) {
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: new URL(checkoutUrl).origin });
  const page = await context.newPage();
  const problems = [];
  watchForPageErrors(page, problems);
  const response = await page.goto(checkoutUrl, { waitUntil: "load" });
  check(response && response.status() === 200, `the page answers 200 (${response && response.status()})`);
  console.log("PAGE_OPEN");
  const first = await checkPendingDetails(page);
  await page.waitForTimeout(2200);
  const later = await text(page, "#countdown");
  check(seconds(later) < seconds(first), `the countdown runs (${first} then ${later})`);

  check(await visible(page, "#copy"), "the copy button is shown with JavaScript");
  await screenshot(page, "checkout-pending.png");
  await page.locator("#copy").click();
  await page.waitForFunction(() => document.getElementById("copy").textContent === "Copied", null, { timeout: 3 * SECOND });
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  check(copied === accountNumber, `the copy button puts ${accountNumber} on the clipboard (${copied})`);

  const wrong = await payThroughSandbox(amountKobo - 100);
  check(wrong.status === "returned", `a transfer of the wrong amount is returned (${wrong.status})`);
  await page.waitForTimeout(5 * SECOND);
  check((await shownSection(page)) === "pending", "five seconds after a wrong amount the page still asks for payment");

  const right = await payThroughSandbox(amountKobo);
  check(right.status === "successful", `a transfer of the exact amount is credited (${right.status})`);
  const started = Date.now();
  check(await becomesVisible(page, "#paid", 15 * SECOND), "the page turns to paid by itself, without a reload");
  console.log(`paid shown ${((Date.now() - started) / SECOND).toFixed(1)} s after the transfer`);
  check((await shownSection(page)) === "paid", "only the paid section is shown");
  const live = await text(page, "#live");
  check(live === "Payment received.", `the live region announces it (${JSON.stringify(live)})`);
  await screenshot(page, "checkout-paid.png");

  if (expectedReturnUrl) {
    const href = await page.locator("#return-link").getAttribute("href");
    check(await visible(page, "#return-link"), "the return link is shown");
    check(href === expectedReturnUrl, `the return link goes to ${expectedReturnUrl} (${href})`);
    await page.waitForURL(expectedReturnUrl, { timeout: 10 * SECOND });
    ok(`the page moves on to the callback by itself (${page.url()})`);
  }
  check(problems.length === 0, `no script or console errors${problems.length ? `: ${problems.join("; ")}` : ""}`);
}

async function expireMode(context) {
  const page = await context.newPage();
  const problems = [];
  watchForPageErrors(page, problems);
  const response = await page.goto(checkoutUrl, { waitUntil: "load" });
  check(response && response.status() === 200, `the page answers 200 (${response && response.status()})`);
  await checkPendingDetails(page);
  // The test moves the server's clock past the expiry when it reads this.
  console.log("PAGE_OPEN");
  const started = Date.now();
  check(await becomesVisible(page, "#expired", 15 * SECOND), "the page turns to expired by itself, without a reload");
  console.log(`expired shown ${((Date.now() - started) / SECOND).toFixed(1)} s after the page was open`);
  check((await shownSection(page)) === "expired", "only the expired section is shown");
  const live = await text(page, "#live");
  check(live === "This checkout has expired.", `the live region announces it (${JSON.stringify(live)})`);
  await screenshot(page, "checkout-expired.png");
  check(problems.length === 0, `no script or console errors${problems.length ? `: ${problems.join("; ")}` : ""}`);
}

async function noJavaScriptMode(context) {
  const page = await context.newPage();
  const response = await page.goto(checkoutUrl, { waitUntil: "load" });
  check(response && response.status() === 200, `the page answers 200 (${response && response.status()})`);
  console.log("PAGE_OPEN");
  await checkPendingDetails(page);
  check(!(await visible(page, "#copy")), "no copy button without JavaScript");
  // Playwright's text matching skips <noscript>, so look at the element itself.
  const hint = page.locator("#pending noscript p");
  check(
    (await hint.isVisible()) && /refresh this page/.test((await hint.textContent()) || ""),
    "the page tells the customer to refresh after paying",
  );
  await screenshot(page, "checkout-nojs-pending.png");

  const wrong = await payThroughSandbox(amountKobo - 100);
  check(wrong.status === "returned", `a transfer of the wrong amount is returned (${wrong.status})`);
  await page.reload({ waitUntil: "load" });
  check((await shownSection(page)) === "pending", "after a wrong amount a reload still asks for payment");

  const right = await payThroughSandbox(amountKobo);
  check(right.status === "successful", `a transfer of the exact amount is credited (${right.status})`);
  await page.reload({ waitUntil: "load" });
  check((await shownSection(page)) === "paid", "after paying a reload shows the paid section");
  await screenshot(page, "checkout-nojs-paid.png");
  if (expectedReturnUrl) {
    const href = await page.locator("#return-link").getAttribute("href");
    check(href === expectedReturnUrl, `the return link goes to ${expectedReturnUrl} (${href})`);
    await page.locator("#return-link").click();
    await page.waitForURL(expectedReturnUrl, { timeout: 10 * SECOND });
    ok("the return link works without JavaScript");
  }
}

async function main() {
  mkdirSync(screenshotDir, { recursive: true });
  console.log(`mode ${mode}: ${checkoutUrl} in ${executablePath}`);
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    timeout: 30 * SECOND,
  });
  try {
    console.log(`browser ${browser.version()}`);
    // A phone: 390x844 CSS pixels, touch, and the page's own viewport meta honoured.
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      javaScriptEnabled: mode !== "nojs",
      locale: "en-NG",
    });
    context.setDefaultTimeout(15 * SECOND);
    if (mode === "pay") {
      await payMode(context);
    } else if (mode === "expire") {
      await expireMode(context);
    } else {
      await noJavaScriptMode(context);
    }
    await context.close();
  } finally {
    await browser.close();
  }
  console.log(`PASS: ${mode}`);
}

// Never hang the test suite: the Rust side has its own timeout, this is the script's.
const watchdog = setTimeout(() => fail("the browser check took longer than 90 s"), 90 * SECOND);
watchdog.unref();

main().catch((error) => {
  fail(error instanceof AssertionFailure ? error.message : (error && error.stack) || String(error));
});
