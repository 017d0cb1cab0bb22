// "Who used my data": the browser verifies every ledger entry itself (WebCrypto only).
//
// For each row of #ledger-entries it takes, from the proofs JSON of the page:
//   1. the entry's leaf input: SHA-256(0x00 ‖ leaf_input) is the leaf hash (RFC 9162 §2.1.1),
//      and the entry it encodes must be the one the row shows (kind, organization, time);
//   2. the entry must be about this person: its subject is the person's pseudonym, or — for
//      a bulk entry — a set whose Merkle root the person's pseudonym is proven to be in;
//   3. the audit path from the leaf to the root (RFC 9162 §2.1.3.2, shift loop included);
//   4. that root must be the one of the checkpoint, whose Ed25519 signature (C2SP signed
//      note: base64(4-byte key id ‖ signature)) verifies under the log's verifier key.
// The row's badge says "verified" only when all of it holds; any error means "failed".
"use strict";

(function () {
  const table = document.getElementById("ledger-entries");
  const encoder = new TextEncoder();
  const decoder = new TextDecoder("utf-8", { fatal: true });

  function fromBase64(text) {
    if (typeof text !== "string") {
      throw new Error("not base64");
    }
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) {
      return false;
    }
    let diff = 0;
    for (let i = 0; i < a.length; i += 1) {
      diff |= a[i] ^ b[i];
    }
    return diff === 0;
  }

  function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  function leafHash(data) {
    return sha256(concat(Uint8Array.of(0), data));
  }

  function nodeHash(left, right) {
    return sha256(concat(Uint8Array.of(1), left, right));
  }

  // RFC 9162 §2.1.3.2, as tsunagu.ledger.merkle.verify_inclusion (BigInt: sizes may pass 2^31)
  async function verifyInclusion(leaf, index, size, proof, root) {
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size)) {
      return false;
    }
    if (index < 0 || index >= size) {
      return false;
    }
    let fn = BigInt(index);
    let sn = BigInt(size - 1);
    let r = leaf;
    for (const p of proof) {
      if (p.length !== 32 || sn === 0n) {
        return false;
      }
      if ((fn & 1n) === 1n || fn === sn) {
        r = await nodeHash(p, r);
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    return sn === 0n && equal(r, root);
  }

  // the verifier key "<name>+<hex key id>+<base64(0x01 ‖ public key)>"
  async function parseVerifierKey(vkey) {
    const first = vkey.indexOf("+");
    const second = vkey.indexOf("+", first + 1);
    if (first <= 0 || second <= first) {
      throw new Error("malformed verifier key");
    }
    const name = vkey.slice(0, first);
    const keyId = vkey.slice(first + 1, second);
    const raw = fromBase64(vkey.slice(second + 1).trim());
    if (raw.length !== 33 || raw[0] !== 0x01) {
      throw new Error("not an Ed25519 note key");
    }
    const publicKey = raw.slice(1);
    const computed = (await sha256(concat(encoder.encode(name + "\n"), raw))).slice(0, 4);
    if (hex(computed) !== keyId) {
      throw new Error("the key id does not match the key");
    }
    return { name, keyId: computed, publicKey };
  }

  // a C2SP checkpoint signed by the log: returns its size and root, or throws
  async function openCheckpoint(note, vkey) {
    const key = await parseVerifierKey(vkey);
    const cut = note.indexOf("\n\n");
    if (cut < 0) {
      throw new Error("malformed note");
    }
    const text = note.slice(0, cut + 1);
    const prefix = "\u2014 " + key.name + " ";
    let signature = null;
    for (const line of note.slice(cut + 2).split("\n")) {
      if (!line.startsWith(prefix)) {
        continue;
      }
      const blob = fromBase64(line.slice(prefix.length));
      if (blob.length === 68 && equal(blob.slice(0, 4), key.keyId)) {
        signature = blob.slice(4);
        break;
      }
    }
    if (signature === null) {
      throw new Error("the checkpoint is not signed by the log");
    }
    const publicKey = await crypto.subtle.importKey(
      "raw",
      key.publicKey,
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    const valid = await crypto.subtle.verify(
      { name: "Ed25519" },
      publicKey,
      signature,
      encoder.encode(text),
    );
    if (!valid) {
      throw new Error("bad checkpoint signature");
    }
    const lines = text.split("\n");
    if (lines.length < 4 || lines[0] !== key.name || !/^(0|[1-9][0-9]*)$/.test(lines[1])) {
      throw new Error("malformed checkpoint");
    }
    const root = fromBase64(lines[2]);
    if (root.length !== 32) {
      throw new Error("malformed checkpoint root");
    }
    return { size: Number(lines[1]), root };
  }

  async function verifyEntry(row, item, checkpoint, me) {
    if (!item || item.leaf_index !== Number(row.dataset.leafIndex)) {
      return null;
    }
    const leafInput = fromBase64(item.leaf_input);
    const entry = JSON.parse(decoder.decode(leafInput));
    // the entry the proof is for must be the one the row shows
    const shown = row.dataset;
    if (entry.kind !== shown.kind || entry.time !== shown.time || (entry.org || "") !== shown.org) {
      return null;
    }
    const subject = entry.subject || {};
    let count = null;
    if (typeof subject.pseudonym === "string") {
      if (!equal(fromBase64(subject.pseudonym), me)) {
        return null;
      }
    } else if (typeof subject.root === "string" && item.set) {
      count = subject.count;
      const inSet = await verifyInclusion(
        await leafHash(me),
        item.set.index,
        count,
        item.set.audit_path.map(fromBase64),
        fromBase64(subject.root),
      );
      if (!inSet) {
        return null;
      }
    } else {
      return null;
    }
    const included = await verifyInclusion(
      await leafHash(leafInput),
      item.leaf_index,
      checkpoint.size,
      item.audit_path.map(fromBase64),
      checkpoint.root,
    );
    return included ? { count } : null;
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (match, name) =>
      name in values ? String(values[name]) : match,
    );
  }

  function show(row, result, checkpoint) {
    const badge = row.querySelector("[data-badge]");
    const detail = row.querySelector("[data-badge-detail]");
    badge.classList.remove("pending");
    if (result) {
      badge.classList.add("verified");
      badge.textContent = table.dataset.textVerified;
      const template =
        result.count === null ? table.dataset.detailVerified : table.dataset.detailVerifiedSet;
      detail.textContent = fill(template, {
        index: row.dataset.leafIndex,
        size: checkpoint.size,
        count: result.count,
      });
    } else {
      badge.classList.add("failed");
      badge.textContent = table.dataset.textFailed;
      detail.textContent = table.dataset.detailFailed;
    }
    row.dataset.verified = result ? "true" : "false";
  }

  async function run() {
    const rows = Array.from(table.querySelectorAll("tr[data-leaf-index]"));
    let checkpoint = null;
    let data = null;
    try {
      const response = await fetch(table.dataset.proofsUrl, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      data = await response.json();
      checkpoint = await openCheckpoint(data.checkpoint, data.vkey);
    } catch (error) {
      checkpoint = null;
    }
    const byIndex = new Map();
    if (data && Array.isArray(data.entries)) {
      for (const item of data.entries) {
        byIndex.set(item.leaf_index, item);
      }
    }
    let failed = 0;
    for (const row of rows) {
      let result = null;
      if (checkpoint) {
        try {
          const me = fromBase64(data.pseudonym);
          result = await verifyEntry(row, byIndex.get(Number(row.dataset.leafIndex)), checkpoint, me);
        } catch (error) {
          result = null;
        }
      }
      if (!result) {
        failed += 1;
      }
      show(row, result, checkpoint || { size: 0 });
    }
    const summary = document.getElementById("ledger-summary");
    if (summary) {
      summary.textContent = failed
        ? fill(summary.dataset.textSomeFailed, { count: failed })
        : fill(summary.dataset.textAllVerified, { count: rows.length });
      summary.classList.add(failed ? "failed" : "verified");
    }
    table.dataset.verification = "done";
  }

  // the pure checks, for people who want to audit them from the console (and for tests)
  window.tsunaguLedgerVerify = Object.freeze({ leafHash, verifyInclusion, openCheckpoint });
  if (table) {
    run();
  }
})();
