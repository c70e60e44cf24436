// cocflow intake: the report is encrypted here, in the reporter's browser, with age.
// Nothing but age ciphertext leaves the page. The receipt code never leaves it at all.
import { Encrypter, Decrypter, armor, identityToRecipient } from "age-encryption";
import { bech32 } from "@scure/base";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SALT = "cocflow-intake-v1";
const PAD = 4096; // the plaintext is padded to a multiple of this: its length says little
const utf8 = new TextEncoder();

function config() {
  return JSON.parse(document.getElementById("intake-config").textContent);
}

// 160 random bits as 32 Crockford base32 characters in groups of four.
function newReceiptCode() {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  let bits = 0, value = 0, out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte; bits += 8;
    while (bits >= 5) { out += CROCKFORD[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  return out.match(/.{4}/g).join("-");
}

export function normalizeCode(text) {
  const plain = text.toUpperCase().replace(/[^0-9A-Z]/g, "")
    .replace(/O/g, "0").replace(/[IL]/g, "1").replace(/U/g, "V");
  return plain.length === 32 && [...plain].every((c) => CROCKFORD.includes(c)) ? plain : null;
}

// The reporter's age identity, derived from the receipt code (HKDF-SHA-256 in WebCrypto).
async function identityFromCode(code) {
  const key = await crypto.subtle.importKey("raw", utf8.encode(code), "HKDF", false,
    ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256",
    salt: utf8.encode(SALT), info: utf8.encode("age-x25519-identity") }, key, 256);
  return bech32.encode("AGE-SECRET-KEY-", bech32.toWords(new Uint8Array(bits)), false)
    .toUpperCase();
}

// Where replies wait: a hash of the reporter's public key (the team computes the same).
async function lookupId(recipient) {
  const digest = await crypto.subtle.digest("SHA-256",
    utf8.encode("cocflow-intake-lookup-v1\n" + recipient));
  return [...new Uint8Array(digest).slice(0, 16)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

function value(form, name) {
  const field = form.elements.namedItem(name);
  const text = field ? field.value.trim() : "";
  return text === "" ? null : text;
}

function people(form, prefix) {
  const found = [];
  for (let i = 0; i < 5; i++) {
    const name = value(form, `${prefix}-${i}-name`);
    const contact = value(form, `${prefix}-${i}-contact`);
    if (name !== null || contact !== null) found.push({ name, contact });
  }
  return found;
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((e) => e.value);
}

function buildReport(form) {
  const anonymous = form.elements.namedItem("anonymous").checked;
  const when = value(form, "occurred_at");
  return {
    title: value(form, "title"),
    channel: "form",
    reporter: anonymous ? { name: null, contact: null, anonymous: true }
      : { name: value(form, "reporter-name"), contact: value(form, "reporter-contact"),
        anonymous: false },
    reported: people(form, "reported"),
    witnesses: people(form, "witness"),
    occurred_at: when ? new Date(when).toISOString().replace(/\.\d{3}Z$/, "Z") : null,
    space: value(form, "space"),
    location: value(form, "location"),
    categories: checked(form, "category"),
    description: value(form, "description"),
    consent: {
      name_reporter: form.elements.namedItem("consent-name").checked,
      share_with_reported: form.elements.namedItem("consent-share").checked,
      confidentiality_request: value(form, "confidentiality"),
    },
  };
}

// Members the report is encrypted to: the intake readers (and escrow) the reporter did not
// exclude. The team never opens a case fewer than min_readers can read (escrow counts as
// one): a reporter who excludes too many is told so, and nothing is sent.
function recipientsFor(cfg, excluded) {
  const readers = cfg.readers.filter((r) => !excluded.includes(r.handle));
  const count = readers.length + (cfg.escrow.length > 0 ? 1 : 0);
  if (readers.length === 0 || count < cfg.min_readers) return [];
  return [...readers.flatMap((r) => r.keys), ...cfg.escrow];
}

function pad(text) {
  const bytes = utf8.encode(text);
  const size = Math.ceil((bytes.length + 1) / PAD) * PAD;
  return text + " ".repeat(size - bytes.length);
}

function show(id, text) {
  const element = document.getElementById(id);
  element.textContent = text;
  element.hidden = false;
}

async function submitReport(event) {
  event.preventDefault();
  const form = event.target;
  const cfg = config();
  const button = form.querySelector("button[type=submit]");
  document.getElementById("error").hidden = true;
  const report = buildReport(form);
  if (!report.title || !report.description) {
    show("error", "Please give a short title and describe what happened.");
    return;
  }
  const excluded = checked(form, "exclude");
  const recipients = recipientsFor(cfg, excluded);
  if (recipients.length === 0) {
    show("error", "Too few of the people who receive reports would be left to read it: " +
      "please exclude fewer members.");
    return;
  }
  button.disabled = true;
  try {
    const code = newReceiptCode();
    const replyTo = await identityToRecipient(await identityFromCode(normalizeCode(code)));
    const payload = JSON.stringify({ cocflow_intake: 1, report, exclude: excluded,
      reply_to: replyTo });
    const encrypter = new Encrypter();
    for (const key of recipients) encrypter.addRecipient(key);
    const sealed = armor.encode(await encrypter.encrypt(pad(payload)));
    const response = await fetch(cfg.submit, { method: "POST", body: sealed,
      headers: { "Content-Type": "application/x-age-armor" }, credentials: "omit",
      cache: "no-store", referrerPolicy: "no-referrer" });
    if (!response.ok) throw new Error(`the receiver answered ${response.status}`);
    form.reset();
    form.hidden = true;
    show("receipt-code", code);
    document.getElementById("receipt").hidden = false;
  } catch (error) {
    show("error", `Your report was not sent (${error.message}). Nothing was stored; please try again.`);
  } finally {
    button.disabled = false;
  }
}

async function readReplies(event) {
  event.preventDefault();
  const list = document.getElementById("replies");
  list.replaceChildren();
  document.getElementById("error").hidden = true;
  document.getElementById("none").hidden = true;
  const code = normalizeCode(event.target.elements.namedItem("code").value);
  if (code === null) {
    show("error", "That is not a receipt code: it has 32 letters and digits.");
    return;
  }
  const identity = await identityFromCode(code);
  const lookup = await lookupId(await identityToRecipient(identity));
  const response = await fetch(`${config().replies}${lookup}`, { credentials: "omit",
    cache: "no-store", referrerPolicy: "no-referrer" });
  const found = response.ok ? (await response.json()).replies : [];
  const decrypter = new Decrypter();
  decrypter.addIdentity(identity);
  for (const sealed of found) {
    try {
      const reply = JSON.parse(await decrypter.decrypt(armor.decode(sealed), "text"));
      const item = document.createElement("li");
      const when = document.createElement("time");
      when.textContent = reply.at;
      const text = document.createElement("p");
      text.className = "reply-text";
      text.textContent = reply.text;
      item.append(when, text);
      list.append(item);
    } catch {
      // not for this code: show nothing
    }
  }
  if (list.children.length === 0) document.getElementById("none").hidden = false;
}

document.addEventListener("DOMContentLoaded", () => {
  const report = document.getElementById("report-form");
  if (report) report.addEventListener("submit", submitReport);
  const status = document.getElementById("status-form");
  if (status) status.addEventListener("submit", readReplies);
  const anonymous = document.getElementById("anonymous");
  if (anonymous) {
    const sync = () => { document.getElementById("identity").hidden = anonymous.checked; };
    anonymous.addEventListener("change", sync);
    sync();
  }
  const copy = document.getElementById("copy-code");
  if (copy) {
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(document.getElementById("receipt-code").textContent);
        copy.textContent = "Copied";
      } catch {
        copy.textContent = "Select the code above and copy it";
      }
    });
  }
  document.body.dataset.ready = "true";
});
