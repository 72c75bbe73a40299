// The merchant dashboard in a real browser, driven by crates/ducat/tests/api/dashboard_browser.rs:
// an owner signs in, creates a key and sees it once, sets the payout OTP phone with the code from
// the sandbox inbox, narrows the API to an IP range and is refused from outside it, registers a
// webhook and sends a test event, simulates a transfer and sees the balance change, sends a
// payout with the OTP from the sandbox inbox, looks the money up in the transactions, invites a
// viewer and signs out; the viewer can change nothing; and the essentials work without JavaScript.
//
// Written against the selector contract in the dashboard's issue (ids, labels, button texts).
//
// Environment:
//   API_BASE        the gateway's base URL (the dashboard is at ${API_BASE}/dashboard)
//   EMAIL, PASSWORD the business owner's dashboard login
//   BUSINESS_ID     the business's id
//   WEBHOOK_URL     a receiver that answers 200 to every POST
//   NGN_ACCOUNT     the NGN wallet's funding account number
//   SCREENSHOT_DIR  where the PNGs go (created if missing): dashboard-<page>.png at 1280 px wide
//                   and dashboard-<page>-phone.png at 390 px wide
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
//
// Prints one line per step, `PAYOUT_REF <ref>`, `SECRET_PREFIX <prefix>` and `VIEWER <email>` for
// the Rust side to check, and `PASS: dashboard` at the end; exits non-zero on the first failure.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const SECOND = 1000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
const NEW_OTP_PHONE = "+2348030000001";
const VIEWER_EMAIL = "viewer@example.com";
const VIEWER_PASSWORD = "viewer-password-0123";
const PAYOUT_ACCOUNT = "0123456781";
const BLOCKING_RANGE = "10.20.0.0/16";

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

function step(title) {
  console.log(`# ${title}`);
}

const apiBase = required("API_BASE").replace(/\/+$/, "");
const email = required("EMAIL");
const password = required("PASSWORD");
const businessId = required("BUSINESS_ID");
const webhookUrl = required("WEBHOOK_URL");
const ngnAccount = required("NGN_ACCOUNT");
const screenshotDir = required("SCREENSHOT_DIR");
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const dashboard = `${apiBase}/dashboard`;

const shots = [];
/** Problems every page is checked for: script errors, CSP refusals, console errors. */
const problems = [];
/** Pages wider than a phone's screen: reported at the end, so the other steps still run. */
const layoutProblems = [];

function watch(page, who) {
  page.on("dialog", (dialog) => {
    console.log(`dialog (${who}): ${dialog.message()}`);
    dialog.accept().catch(() => {});
  });
  page.on("pageerror", (error) => problems.push(`${who}: script error: ${error.message}`));
  page.on("console", (message) => {
    const url = message.location().url;
    // A page answering 4xx is the browser's "Failed to load resource" error; those answers are
    // asked for on purpose here (bad input, the viewer's refused post). Scripts, styles and
    // everything else must load.
    const expectedAnswer = /^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())
      && new URL(url).pathname.startsWith("/dashboard");
    if (message.type() === "error" && !url.endsWith("/favicon.ico") && !expectedAnswer) {
      problems.push(`${who}: console error: ${message.text()} (${message.location().url})`);
    }
  });
}

/** A full-page screenshot at desktop width and one at phone width; at phone width nothing may
 * stick out sideways (tables scroll inside their own box). */
async function shoot(page, name) {
  const desktop = join(screenshotDir, `dashboard-${name}.png`);
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: desktop, fullPage: true });
  await page.setViewportSize(PHONE);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  const phone = join(screenshotDir, `dashboard-${name}-phone.png`);
  await page.screenshot({ path: phone, fullPage: true });
  if (width > PHONE.width) {
    // The innermost elements reaching past the screen's edge, to say what to fix.
    const culprits = await page.evaluate((limit) => {
      // Inside a box that scrolls or clips sideways (the navigation, .table-wrap) is fine, unless
      // it is positioned out of that box (absolute, with no positioned ancestor inside it).
      const clipped = (el) => {
        const position = getComputedStyle(el).position;
        if (position === "absolute" || position === "fixed") return false;
        for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
          if (getComputedStyle(up).overflowX !== "visible") return true;
        }
        return false;
      };
      const wide = [...document.querySelectorAll("body *")].filter(
        (el) => el.getBoundingClientRect().right > limit + 1 && !clipped(el),
      );
      return wide
        .filter((el) => ![...el.children].some((child) => wide.includes(child)))
        .slice(0, 4)
        .map((el) => {
          const id = el.id ? `#${el.id}` : "";
          const cls = el.classList.length ? `.${[...el.classList].join(".")}` : "";
          const words = (el.textContent || "").trim().slice(0, 40);
          return `${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(el.getBoundingClientRect().right)} px: ${JSON.stringify(words)})`;
        });
    }, PHONE.width);
    layoutProblems.push(`${name}: ${width} CSS px wide at phone width; ${culprits.join(", ")}`);
    console.log(`not ok - ${name}: something sticks out sideways at phone width (${width} CSS px): ${culprits.join(", ")}`);
  } else {
    console.log(`ok - ${name}: nothing sticks out sideways at phone width`);
  }
  await page.setViewportSize(DESKTOP);
  shots.push(desktop, phone);
  console.log(`screenshots ${desktop} ${phone}`);
}

async function text(locator) {
  return ((await locator.textContent()) || "").replace(/\s+/g, " ").trim();
}

/** The page's notice (success or error), or "". */
async function notice(page) {
  const box = page.locator("main .notice").first();
  return (await box.count()) ? text(box) : "";
}

async function open(page, path, expectStatus = 200) {
  const response = await page.goto(`${apiBase}${path}`, { waitUntil: "load" });
  const status = response ? response.status() : 0;
  check(status === expectStatus, `GET ${path} answers ${expectStatus} (${status})`);
  return response;
}

/** Clicks a submit button and waits for the page the form leads to. */
async function submit(page, buttonName) {
  const button = page.getByRole("button", { name: buttonName, exact: true });
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: "load" }),
    button.first().click(),
  ]);
  return response;
}

/** A call to the Duplo API with the secret key, from Node (127.0.0.1). */
async function apiStatus(secretKey) {
  const response = await fetch(`${apiBase}/v1/merchants/utilities/banks/list`, {
    headers: { Authorization: `Bearer ${secretKey}` },
  });
  await response.text();
  return response.status;
}

/** Naira from "₦50,000.00" (or "NGN 50,000.00"). */
function amountOf(shown) {
  const digits = shown.replace(/[^0-9.\-−]/g, "").replace("−", "-");
  return Number(digits);
}

/** The newest 6-digit code the sandbox texted to `phone`, read from the Sandbox page's inbox. */
async function codeFromInbox(page, phone) {
  await open(page, "/dashboard/sandbox");
  const rows = page.locator("#sms-inbox tbody tr");
  const count = await rows.count();
  check(count > 0, `the sandbox SMS inbox lists messages (${count})`);
  for (let i = 0; i < count; i += 1) {
    const row = rows.nth(i);
    const to = await text(row.locator("td").first());
    if (to === phone) {
      const body = await text(row.locator(".sms-body"));
      const match = /\b(\d{6})\b/.exec(body);
      check(Boolean(match), `the newest message to ${phone} carries a 6-digit code (${JSON.stringify(body)})`);
      return match[1];
    }
  }
  throw new AssertionFailure(`no message to ${phone} in the sandbox SMS inbox`);
}

async function signIn(page, who, login, secret) {
  await open(page, "/dashboard/sign-in");
  await page.getByLabel("Email", { exact: true }).fill(login);
  await page.getByLabel("Password", { exact: true }).fill(secret);
  await submit(page, "Sign in");
  const path = new URL(page.url()).pathname;
  check(path === "/dashboard", `${who} signs in and lands on the overview (${page.url()})`);
}

// 1. Sign in, the keyboard's first stop, the mode banner.
async function signInAndOverview(page) {
  step("1. sign in");
  await open(page, "/dashboard");
  check(new URL(page.url()).pathname === "/dashboard/sign-in", `signed out, /dashboard sends to sign-in (${page.url()})`);
  await shoot(page, "sign-in");
  await page.getByLabel("Email", { exact: true }).fill(email);
  await page.getByLabel("Password", { exact: true }).fill("not the password");
  await submit(page, "Sign in");
  check(/sign-in/.test(page.url()) && (await notice(page)).length > 0, `a wrong password is refused with a notice (${await notice(page)})`);
  await signIn(page, "the owner", email, password);

  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName} ${(el.textContent || "").trim()} ${el.getAttribute("href") || ""}` : "";
  });
  check(first === "A Skip to content #main", `the Tab key's first stop is the skip link (${first})`);
  const skipVisible = await page.locator("a.skip").evaluate((el) => el.getBoundingClientRect().left >= 0);
  check(skipVisible, "the focused skip link is on screen");
  await page.keyboard.press("Enter");
  const focused = await page.evaluate(() => (document.activeElement ? document.activeElement.id : ""));
  check(focused === "main", `Enter on the skip link moves the focus to the content (#${focused})`);
  const banner = await text(page.locator("#mode-banner"));
  check(/Test mode/.test(banner), `the mode banner says test mode (${banner})`);
  const balance = await text(page.locator('[data-balance="NGN"]'));
  check(balance.length > 0, `the overview shows the NGN balance (${balance})`);
  await shoot(page, "overview");
}

// 2. Developers: a secret key shown once, then only its prefix; the key works on the API.
async function developers(page) {
  step("2. developers");
  await open(page, "/dashboard/developers");
  await submit(page, "Create secret key");
  const key = await text(page.locator("#new-secret"));
  check(/^dp_test_\S{16,}$/.test(key), `the new secret key is shown (${key.slice(0, 12)}…)`);
  await shoot(page, "developers-new-key");
  await open(page, "/dashboard/developers");
  const html = await page.content();
  check(!html.includes(key), "after leaving the page the full key is nowhere in its HTML");
  check((await page.locator("#new-secret").count()) === 0, "no #new-secret on the page any more");
  const prefixes = await page.locator("#keys code").allTextContents();
  const prefix = prefixes
    .map((p) => p.replace("…", "").trim())
    .find((p) => p.length >= 8 && p.length < key.length && key.startsWith(p));
  check(Boolean(prefix), `the keys table lists the key by its prefix (${prefix})`);
  console.log(`SECRET_PREFIX ${prefix}`);
  await shoot(page, "developers");
  const status = await apiStatus(key);
  check(status === 200, `the new key is accepted by the API (${status})`);
  return key;
}

// 3. Payout API settings: a new OTP phone, confirmed with the code sent to it.
async function payoutSettings(page) {
  step("3. payout API settings");
  await open(page, "/dashboard/settings/payout");
  const before = await text(page.locator("#current-otp-phone"));
  await page.getByLabel("New OTP phone number", { exact: true }).fill("0803 not a number");
  await submit(page, "Send confirmation code");
  check((await page.locator("main .notice.error").count()) === 1, `a malformed number is refused (${await notice(page)})`);
  check((await text(page.locator("#current-otp-phone"))) === before, "and the current number is unchanged");
  await page.getByLabel("New OTP phone number", { exact: true }).fill(NEW_OTP_PHONE);
  await submit(page, "Send confirmation code");
  check((await page.locator("main .notice.success").count()) === 1, `the code is sent (${await notice(page)})`);
  check((await text(page.locator("#current-otp-phone"))) === before, `the old number stays in effect until confirmed (${before})`);
  await shoot(page, "payout-settings-pending");
  const code = await codeFromInbox(page, NEW_OTP_PHONE);
  await open(page, "/dashboard/settings/payout");
  await page.getByLabel("Confirmation code", { exact: true }).fill(code);
  await submit(page, "Confirm number");
  const now = await text(page.locator("#current-otp-phone"));
  check(now === NEW_OTP_PHONE, `the new OTP phone is in effect (${now}; ${await notice(page)})`);
  await shoot(page, "payout-settings");
}

async function saveAllowlist(page, value) {
  await open(page, "/dashboard/security");
  await page.getByLabel("Allowed IP addresses", { exact: true }).fill(value);
  await submit(page, "Save allowlist");
  const said = await notice(page);
  check(/done=saved/.test(page.url()) && (await page.locator("main .notice.success").count()) === 1,
    `the allowlist ${JSON.stringify(value)} is saved (${said})`);
}

// 4. Security: an IP range keeps the API away from 127.0.0.1, then it is lifted; the audit log.
async function security(page, key) {
  step("4. security");
  await open(page, "/dashboard/security");
  await page.getByLabel("Allowed IP addresses", { exact: true }).fill("10.20.0.0/33");
  await submit(page, "Save allowlist");
  check((await page.locator("main .notice.error").count()) === 1, `a bad range is refused (${await notice(page)})`);
  check((await apiStatus(key)) === 200, "and the API still answers");
  await saveAllowlist(page, BLOCKING_RANGE);
  const refused = await apiStatus(key);
  check(refused === 403, `from 127.0.0.1, outside ${BLOCKING_RANGE}, the API refuses the key (${refused})`);
  await saveAllowlist(page, "");
  const again = await apiStatus(key);
  check(again === 200, `with the allowlist empty the API answers again (${again})`);
  const log = await text(page.locator("#audit-log"));
  check(log.includes(BLOCKING_RANGE), "the audit log shows the range being set");
  check(log.includes(email), "the audit log names who changed it");
  await shoot(page, "security");
}

// 5. Webhooks: the URL, a test event delivered at once, the delivery log, the secret.
async function webhooks(page) {
  step("5. webhooks");
  await open(page, "/dashboard/webhooks");
  await page.getByLabel("Webhook URL", { exact: true }).fill(webhookUrl);
  await submit(page, "Save webhook");
  check((await page.locator("main .notice.success").count()) === 1, `the webhook URL is saved (${await notice(page)})`);
  const shown = await text(page.locator("#webhook-url"));
  check(shown === webhookUrl, `the page shows the URL (${shown})`);
  await submit(page, "Send test event");
  const said = await notice(page);
  check(/delivered/i.test(said) && (await page.locator("main .notice.success").count()) === 1,
    `the test event is delivered (${said})`);
  const rows = page.locator("#deliveries tbody tr");
  check((await rows.count()) >= 1, `the delivery log lists it (${await rows.count()} row(s))`);
  const first = await text(rows.first());
  check(/delivered/i.test(first), `the delivery log shows it delivered (${first})`);
  await submit(page, "Reveal secret");
  const secret = await text(page.locator("#webhook-secret"));
  check(/^whsec_[A-Za-z0-9+/=]{20,}$/.test(secret), `Reveal secret shows a whsec_ secret (${secret.slice(0, 8)}…)`);
  await open(page, "/dashboard/webhooks");
  check(!(await page.content()).includes(secret), "the secret is not on the page once it is left");
  await shoot(page, "webhooks");
}

// 6. Sandbox: a transfer into the NGN wallet raises the balance on the overview.
async function sandbox(page) {
  step("6. sandbox transfer");
  await open(page, "/dashboard");
  const before = amountOf(await text(page.locator('[data-balance="NGN"]')));
  await open(page, "/dashboard/sandbox");
  await page.getByLabel("Into account", { exact: true }).selectOption(ngnAccount);
  await page.getByLabel("Amount", { exact: true }).fill("50000");
  await page.getByLabel("Sender name", { exact: true }).fill("Browser Test Sender");
  await submit(page, "Send transfer");
  const said = await notice(page);
  check((await page.locator("main .notice.success").count()) === 1 && /credited/.test(said),
    `the transfer is credited (${said})`);
  await shoot(page, "sandbox");
  await open(page, "/dashboard");
  const shown = await text(page.locator('[data-balance="NGN"]'));
  const after = amountOf(shown);
  check(after === before + 50000, `the overview's NGN balance went from ${before} to ${after} (${shown})`);
  await shoot(page, "overview-funded");
}

// 7. Payouts: initiate, then confirm with the OTP from the sandbox inbox.
async function payout(page) {
  step("7. payout");
  await open(page, "/dashboard/payouts");
  const banks = await page.locator("#bank_code option").evaluateAll((options) =>
    options.map((o) => o.value).filter((v) => v));
  check(banks.length > 0, `the Bank list offers banks (${banks.length})`);
  await page.getByLabel("Bank", { exact: true }).selectOption(banks[0]);
  await page.getByLabel("Account number", { exact: true }).fill(PAYOUT_ACCOUNT);
  await page.getByLabel("Amount", { exact: true }).fill("1000");
  await page.getByLabel("Narration", { exact: true }).fill("Browser test payout");
  await shoot(page, "payouts");
  await submit(page, "Continue");
  const match = /\/dashboard\/payouts\/([^/?#]+)/.exec(new URL(page.url()).pathname);
  check(Boolean(match), `Continue leads to the payout's page (${page.url()}; ${await notice(page)})`);
  const reference = match[1];
  console.log(`PAYOUT_REF ${reference}`);
  const waiting = await text(page.locator("#payout-status"));
  check(/awaiting/i.test(waiting), `the payout awaits its OTP (${waiting})`);
  await page.getByLabel("OTP", { exact: true }).fill("000000");
  await submit(page, "Confirm payout");
  check((await page.locator("main .notice.error").count()) === 1, `a wrong OTP is refused (${await notice(page)})`);
  const code = await codeFromInbox(page, NEW_OTP_PHONE);
  await open(page, `/dashboard/payouts/${reference}`);
  await page.getByLabel("OTP", { exact: true }).fill(code);
  await submit(page, "Confirm payout");
  const status = await text(page.locator("#payout-status"));
  check(/^(pending|successful)$/.test(status), `after the OTP the payout is ${status} (${await notice(page)})`);
  check((await page.getByLabel("OTP", { exact: true }).count()) === 0, "and no longer asks for an OTP");
  await shoot(page, "payout");
  return reference;
}

// 8. Transactions: the list, its filters, a detail page with the timeline.
async function transactions(page, reference) {
  step("8. transactions");
  await open(page, "/dashboard/transactions");
  const all = await text(page.locator("main table"));
  check(all.includes(reference), "the list shows the payout");
  check(/wallet_funding/.test(all), "the list shows the inflow");
  await shoot(page, "transactions");
  await page.locator("#f-kind").selectOption("bank_transfer");
  await submit(page, "Filter");
  check(/kind=bank_transfer/.test(page.url()), `the filter is in the address (${page.url()})`);
  const kinds = await page.locator("main table tbody tr td:nth-child(3)").allTextContents();
  check(kinds.length >= 1 && kinds.every((k) => k.trim() === "bank_transfer"),
    `filtered by kind, only payouts are listed (${kinds.join(", ")})`);
  await page.locator("#f-kind").selectOption("any");
  await page.locator("#f-status").selectOption("successful");
  await submit(page, "Filter");
  const statuses = await page.locator("main table tbody tr .badge").allTextContents();
  check(statuses.length >= 1 && statuses.every((s) => s.trim() === "successful"),
    `filtered by status, only successful ones are listed (${statuses.join(", ")})`);
  await open(page, "/dashboard/transactions?from=yesterday", 400);
  check((await page.locator("main .notice.error").count()) === 1, `a bad date is explained (${await notice(page)})`);
  await open(page, "/dashboard/transactions");
  await Promise.all([
    page.waitForNavigation({ waitUntil: "load" }),
    page.locator(`main table a[href="/dashboard/transactions/${reference}"]`).click(),
  ]);
  check(new URL(page.url()).pathname === `/dashboard/transactions/${reference}`, "the payout's detail page opens");
  const entries = await page.locator("#timeline li").count();
  check(entries >= 2, `its timeline lists the creation and its events (${entries} entries)`);
  const facts = await text(page.locator("#transaction-facts"));
  check(facts.includes("₦1,000.00"), "its facts show the amount");
  await shoot(page, "transaction");
}

// 9. Team: invite a viewer, sign out; the viewer signs in and can change nothing.
async function team(browser, page) {
  step("9. team and the viewer");
  await open(page, "/dashboard/team");
  await page.getByLabel("Email", { exact: true }).fill(VIEWER_EMAIL);
  await page.getByLabel("Role", { exact: true }).selectOption("viewer");
  await submit(page, "Send invitation");
  const link = await text(page.locator("#invite-link"));
  check(/\/dashboard\/invite\/\S+$/.test(link), `the invitation link is shown once (${link.replace(/invite\/.*/, "invite/…")})`);
  await shoot(page, "team");
  const linkUrl = new URL(link);
  check(linkUrl.origin === apiBase, `the invitation link names the address the browser used (${linkUrl.origin})`);
  await submit(page, "Sign out");
  check(new URL(page.url()).pathname === "/dashboard/sign-in", `Sign out leads to the sign-in page (${page.url()})`);
  check(/signed out/i.test(await notice(page)), `which says so (${await notice(page)})`);
  await open(page, "/dashboard/team");
  check(new URL(page.url()).pathname === "/dashboard/sign-in", "after signing out the dashboard asks to sign in again");

  const context = await browser.newContext({ viewport: DESKTOP, locale: "en-NG" });
  context.setDefaultTimeout(10 * SECOND);
  const viewer = await context.newPage();
  watch(viewer, "viewer");
  await open(viewer, `${linkUrl.pathname}`);
  check((await text(viewer.locator("main"))).includes(VIEWER_EMAIL), "the invitation page names the invited email");
  await shoot(viewer, "invite");
  await viewer.locator("#password").fill(VIEWER_PASSWORD);
  await submit(viewer, "Create my account");
  check(/done=joined/.test(viewer.url()), `the account is created (${viewer.url()})`);
  await signIn(viewer, "the viewer", VIEWER_EMAIL, VIEWER_PASSWORD);
  console.log(`VIEWER ${VIEWER_EMAIL}`);

  await open(viewer, "/dashboard/settings/payout");
  check((await viewer.getByRole("button", { name: "Send confirmation code" }).count()) === 0, "the viewer gets no form to change the OTP phone");
  check((await viewer.locator(".role-note").count()) >= 1, `a role note says why (${await text(viewer.locator(".role-note").first())})`);
  check((await text(viewer.locator("#current-otp-phone"))) === NEW_OTP_PHONE, "but sees the current number");
  await shoot(viewer, "viewer-payout-settings");
  await open(viewer, "/dashboard/security");
  check((await viewer.locator("textarea[name=ip_allowlist]").count()) === 0, "the viewer gets no allowlist form");
  check((await viewer.getByRole("button", { name: "Save allowlist" }).count()) === 0, "nor a Save allowlist button");
  check((await viewer.locator(".role-note").count()) >= 1, "a role note says why");
  await shoot(viewer, "viewer-security");
  await open(viewer, "/dashboard/developers");
  check((await viewer.getByRole("button", { name: "Create secret key" }).count()) === 0, "the viewer cannot create keys");
  await open(viewer, "/dashboard/webhooks");
  check((await viewer.getByRole("button", { name: "Reveal secret" }).count()) === 0, "the viewer cannot reveal the webhook secret");

  await open(viewer, "/dashboard/security");
  const answer = await viewer.evaluate(async (range) => {
    const token = document.querySelector("form.sign-out input[name=_csrf]").value;
    const body = new URLSearchParams({ _csrf: token, ip_allowlist: range });
    const response = await fetch("/dashboard/security/ip-allowlist", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
      redirect: "manual",
    });
    return { status: response.status, text: await response.text() };
  }, BLOCKING_RANGE);
  check(answer.status === 403, `the viewer's own CSRF-carrying POST to the allowlist is refused with 403 (${answer.status})`);
  check(/role/i.test(answer.text), "the refusal names the role");
  await open(viewer, "/dashboard/security");
  const inEffect = await text(viewer.locator("main section.card").first());
  check(/any address/.test(inEffect) && !inEffect.includes(BLOCKING_RANGE), "the allowlist is unchanged");
  await submit(viewer, "Sign out");
  check(new URL(viewer.url()).pathname === "/dashboard/sign-in", "the viewer signs out");
  await context.close();
}

// 10. Without JavaScript: sign in, the overview, one form.
async function withoutJavaScript(browser) {
  step("10. without JavaScript");
  const context = await browser.newContext({ viewport: DESKTOP, javaScriptEnabled: false, locale: "en-NG" });
  context.setDefaultTimeout(10 * SECOND);
  const page = await context.newPage();
  watch(page, "no-js");
  await signIn(page, "the owner without JavaScript", email, password);
  const balance = await text(page.locator('[data-balance="NGN"]'));
  check(balance.length > 0, `the overview shows the balance without JavaScript (${balance})`);
  await shoot(page, "overview-nojs");
  await saveAllowlist(page, "127.0.0.1/32");
  await shoot(page, "security-nojs");
  await context.close();
}

const failures = [];

/** Runs one step; an assertion failing in it (or an error) is recorded, and answers undefined. */
async function attempt(name, body) {
  try {
    return await body();
  } catch (error) {
    const message = error instanceof AssertionFailure ? error.message : (error && error.stack) || String(error);
    console.log(`not ok - step ${name} failed: ${message}`);
    failures.push(`${name}: ${message}`);
    return undefined;
  }
}

async function main() {
  mkdirSync(screenshotDir, { recursive: true });
  console.log(`dashboard at ${dashboard} for business ${businessId}, in ${executablePath}`);
  const started = Date.now();
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
    const context = await browser.newContext({ viewport: DESKTOP, locale: "en-NG" });
    context.setDefaultTimeout(10 * SECOND);
    const page = await context.newPage();
    watch(page, "owner");
    // A failed step is recorded and the next ones still run (those that need what it made fail
    // in turn), so one broken page does not hide the state of the others.
    await attempt("1. sign in", () => signInAndOverview(page));
    const secret = await attempt("2. developers", () => developers(page));
    await attempt("3. payout API settings", () => payoutSettings(page));
    await attempt("4. security", () => security(page, secret));
    await attempt("5. webhooks", () => webhooks(page));
    await attempt("6. sandbox", () => sandbox(page));
    const reference = await attempt("7. payout", () => payout(page));
    await attempt("8. transactions", () => transactions(page, reference));
    await attempt("9. team", () => team(browser, page));
    await context.close();
    await attempt("10. without JavaScript", () => withoutJavaScript(browser));
    await attempt("every page", async () => {
      check(problems.length === 0, `no script, CSP or console errors${problems.length ? `: ${problems.join("; ")}` : ""}`);
      check(layoutProblems.length === 0, `every page fits a phone's width${layoutProblems.length ? `: ${layoutProblems.join("; ")}` : ""}`);
    });
  } finally {
    await browser.close();
  }
  console.log(`${shots.length} screenshots:`);
  for (const shot of shots) {
    console.log(`  ${shot}`);
  }
  console.log(`took ${((Date.now() - started) / SECOND).toFixed(1)} s`);
  if (failures.length) {
    fail(`${failures.length} step(s) failed:\n  ${failures.join("\n  ")}`);
  }
  console.log("PASS: dashboard");
}

// Never hang the test suite: the Rust side has its own timeout, this is the script's.
const watchdog = setTimeout(() => fail("the dashboard check took longer than 100 s"), 100 * SECOND);
watchdog.unref();

main().catch((error) => {
  fail(error instanceof AssertionFailure ? error.message : (error && error.stack) || String(error));
});
