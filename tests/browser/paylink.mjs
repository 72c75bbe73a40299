// A real-browser check of the Beqelal payment-link page, driven by
// crates/ducat/tests/api/browser.rs: pick Kacha DFS, enter the wallet, read the institution's
// OTP from the sandbox SMS outbox, enter it, see the payment received and go back.
//
// Environment:
//   PAY_URL         the checkout_url the gateway answered (/pay/lnk_…)
//   API_BASE        the gateway's base URL, for the sandbox SMS outbox
//   APP_ID, API_KEY the business's Beqelal test credentials
//   ACCOUNT         the wallet to pay from (e.g. 251911234567); its phone gets the OTP
//   AMOUNT_TEXT     the amount as the page writes it (e.g. "ETB 100.00")
//   RETURN_URL      the link's return_url (the page goes back there once paid)
//   SCREENSHOT_DIR  where the PNGs go (created if missing)
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//
// Prints one line per step and `PASS: paylink` at the end; exits non-zero on the first failure.

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

class AssertionFailure extends Error {}

function check(condition, message) {
  if (!condition) {
    throw new AssertionFailure(message);
  }
  console.log(`ok - ${message}`);
}

const payUrl = required("PAY_URL");
const apiBase = required("API_BASE").replace(/\/+$/, "");
const appId = required("APP_ID");
const apiKey = required("API_KEY");
const account = required("ACCOUNT");
const amountText = required("AMOUNT_TEXT");
const returnUrl = required("RETURN_URL");
const screenshotDir = required("SCREENSHOT_DIR");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

/** The newest OTP the sandbox institution texted to the wallet's phone. */
async function latestOtp() {
  const phone = encodeURIComponent(`+${account}`);
  const response = await fetch(`${apiBase}/sandbox/v1/sms?phone=${phone}&limit=1`, {
    headers: { "app-id": appId, "api-key": apiKey },
  });
  const text = await response.text();
  if (response.status !== 200) {
    throw new AssertionFailure(`the SMS outbox answered ${response.status}: ${text}`);
  }
  const message = JSON.parse(text).data[0];
  const otp = message && /\b(\d{6})\b/.exec(message.body);
  if (!otp) {
    throw new AssertionFailure(`no OTP texted to +${account}: ${text}`);
  }
  return otp[1];
}

async function screenshot(page, name) {
  const path = join(screenshotDir, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot ${path}`);
}

async function text(page, selector) {
  return ((await page.locator(selector).textContent()) || "").trim();
}

async function fitsThePhone(page, step) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, `${step}: nothing sticks out sideways at phone width (${width} CSS px wide)`);
}

async function pay(context) {
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(`script error: ${error.message}`));
  page.on("console", (message) => {
    // Browsers ask every host for /favicon.ico; the gateway has none, which is not the page's
    // fault. A refused form (wrong account, wrong code) is answered 400 on purpose, and
    // Chromium logs every 4xx document as a failed load.
    const url = message.location().url;
    const refusedForm = url.startsWith(payUrl) && /status of 400/.test(message.text());
    if (message.type() === "error" && !url.endsWith("/favicon.ico") && !refusedForm) {
      problems.push(`console error: ${message.text()} (${message.location().url})`);
    }
  });

  const response = await page.goto(payUrl, { waitUntil: "load" });
  check(response && response.status() === 200, `the page answers 200 (${response && response.status()})`);
  const csp = response.headers()["content-security-policy"] || "";
  check(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), "the page is served with the strict policy");
  console.log("PAGE_OPEN");
  const shownAmount = await text(page, "#amount");
  check(shownAmount === amountText, `the amount reads ${amountText} (page: ${shownAmount})`);
  const merchant = await text(page, "#merchant");
  check(merchant.length > 0, `the merchant is named (${merchant})`);
  const options = await page.locator("#bank option").allTextContents();
  check(options.includes("Kacha DFS") && options.includes("Commercial Bank of Ethiopia"), `the institutions are listed (${options.length - 1})`);
  await fitsThePhone(page, "choose");
  await screenshot(page, "paylink-choose.png");

  await page.locator("#bank").selectOption({ label: "Kacha DFS" });
  const hint = await text(page, "#account-hint");
  check(/phone number/.test(hint) && /251911234567/.test(hint), `the hint follows the institution (${hint})`);

  await page.locator("#account").fill("0911234567");
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.locator("#pay").click()]);
  const error = await text(page, "#error");
  check(/Ethiopian mobile number/.test(error), `a wrong account is explained (${error})`);
  const kept = await page.locator("#bank").inputValue();
  check(kept === "404050", `the chosen institution is kept (${kept})`);
  await screenshot(page, "paylink-bad-account.png");

  await page.locator("#account").fill(account);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.locator("#pay").click()]);
  check(await page.locator("#otp").isVisible(), "the page asks for the code");
  const heading = await text(page, "#otp-step h2");
  check(heading === "Enter the code from Kacha DFS", `it names the institution (${heading})`);
  await fitsThePhone(page, "otp");
  await screenshot(page, "paylink-otp.png");

  const otp = await latestOtp();
  console.log("OTP read from the sandbox SMS outbox");
  const wrong = otp === "111111" ? "222222" : "111111";
  await page.locator("#otp").fill(wrong);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.locator("#confirm").click()]);
  const refusal = await text(page, "#error");
  check(refusal === "Invalid OTP", `a wrong code is refused clearly (${refusal})`);
  await screenshot(page, "paylink-wrong-otp.png");

  await page.locator("#otp").fill(otp);
  const started = Date.now();
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.locator("#confirm").click()]);
  check(await page.locator("#paid").isVisible(), "the page shows the payment received");
  console.log(`paid shown ${((Date.now() - started) / SECOND).toFixed(1)} s after the code was sent`);
  const href = (await page.locator("#return-link").getAttribute("href")) || "";
  check(href.startsWith(returnUrl) && /status=PROCESSED/.test(href), `the return link goes back to the business (${href})`);
  await fitsThePhone(page, "paid");
  await screenshot(page, "paylink-paid.png");
  await page.waitForURL((url) => url.href === href, { timeout: 10 * SECOND });
  console.log(`the page moves on to the return URL by itself (${page.url()})`);
  check(problems.length === 0, `no script or console errors${problems.length ? `: ${problems.join("; ")}` : ""}`);
}

async function main() {
  mkdirSync(screenshotDir, { recursive: true });
  console.log(`paylink: ${payUrl} in ${executablePath}`);
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
      locale: "en-ET",
    });
    context.setDefaultTimeout(15 * SECOND);
    await pay(context);
    await context.close();
  } finally {
    await browser.close();
  }
  console.log("PASS: paylink");
}

// Never hang the test suite: the Rust side has its own timeout, this is the script's.
const watchdog = setTimeout(() => fail("the browser check took longer than 90 s"), 90 * SECOND);
watchdog.unref();

main().catch((error) => {
  fail(error instanceof AssertionFailure ? error.message : (error && error.stack) || String(error));
});
