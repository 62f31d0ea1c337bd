// SPDX-License-Identifier: LGPL-2.1-or-later
// A third-party Deepgram client, unmodified, against dg-emulator: the Vercel
// AI SDK's Deepgram provider (@ai-sdk/deepgram: its own HTTP code and its own
// reading of Deepgram's responses and errors, not Deepgram's SDK), called as
// its users call it, through the AI SDK's experimental_transcribe.
//
// The provider has no base-URL setting: it always calls
// https://api.deepgram.com. Its documented `fetch` option is how the request
// reaches the emulator: the origin is swapped, nothing else.
//
//   node conformance.js HTTP_URL WS_URL WAV_FILE EXPECTED_WORDS
//
// The WAV holds sequence audio (dg-sequence-audio), so the transcript is
// known exactly: b000000 b000001 ... Exit status 0 on success.
import fs from "node:fs";
import assert from "node:assert";
import { createDeepgram } from "@ai-sdk/deepgram";
import { experimental_transcribe as transcribe } from "ai";

const [httpUrl, , wavPath, expectedCount] = process.argv.slice(2);
if (!httpUrl || !wavPath || !expectedCount) {
  console.error("usage: node conformance.js HTTP_URL WS_URL WAV_FILE EXPECTED_WORDS");
  process.exit(2);
}
const expected = Array.from({ length: Number(expectedCount) }, (_, i) =>
  "b" + String(i).padStart(6, "0"));
const audio = fs.readFileSync(wavPath);
const requests = [];

function provider(apiKey) {
  return createDeepgram({
    apiKey,
    fetch: (url, init) => {
      const local = String(url).replace("https://api.deepgram.com", httpUrl);
      assert.notStrictEqual(local, String(url), "the provider called " + url);
      requests.push(local);
      return fetch(local, init);
    },
  });
}

async function failure(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("the request should have failed");
}

/* The API error the AI SDK raised, however it wrapped it, with Deepgram's
 * error body as the emulator sent it. This provider version reads error
 * bodies as {"error": {"message", "code"}}, a shape Deepgram does not send
 * (3.x reads err_code/err_msg but needs node 22), so its own message is the
 * HTTP status text: the body is checked instead. */
function apiError(e) {
  const inner = e.lastError || e.cause || e;
  let body = {};
  try {
    body = JSON.parse(inner.responseBody);
  } catch {
    assert.fail("an error body that is not JSON: " + inner.responseBody);
  }
  return { status: inner.statusCode, code: body.err_code, message: body.err_msg || "" };
}

async function transcribes() {
  const result = await transcribe({
    model: provider("sdk-conformance-key").transcription("nova-3"),
    audio,
    providerOptions: { deepgram: { smartFormat: true, utterances: true } },
  });
  const words = result.segments.map((s) => s.text);
  assert.deepStrictEqual(words, expected, "the words, in order");
  assert.strictEqual(result.text.replace(/[.,]/g, ""), expected.join(" "));
  result.segments.forEach((s, i) => {
    assert.ok(Math.abs(s.startSecond - i * 0.1) < 0.011, `${s.text} starts at ${s.startSecond}`);
    assert.ok(s.endSecond > s.startSecond);
  });
  assert.ok(Math.abs(result.durationInSeconds - expected.length * 0.1) < 0.05,
    "duration " + result.durationInSeconds);
  const sent = new URL(requests.at(-1));
  assert.strictEqual(sent.pathname, "/v1/listen");
  assert.strictEqual(sent.searchParams.get("model"), "nova-3");
  console.log(`ok: transcribed ${words.length} words, ${result.durationInSeconds} s`);
}

async function wrongKeyIsRefused() {
  const e = apiError(await failure(transcribe({
    model: provider("not-the-key").transcription("nova-3"),
    audio,
  })));
  assert.strictEqual(e.status, 401, "status " + e.status);
  assert.strictEqual(e.code, "INVALID_AUTH");
  console.log("ok: a wrong key is a 401: " + e.message);
}

async function refusedOptionsSayWhy() {
  /* A model Deepgram does not have: Deepgram's refusal, in its body. */
  let e = apiError(await failure(transcribe({
    model: provider("sdk-conformance-key").transcription("bogus-model"),
    audio,
  })));
  assert.strictEqual(e.status, 400, "status " + e.status);
  assert.ok(/No such model/.test(e.message), "message " + e.message);
  console.log("ok: an unknown model is a 400: " + e.message);
  /* A real option the emulator does not emulate: refused, never ignored. */
  e = apiError(await failure(transcribe({
    model: provider("sdk-conformance-key").transcription("nova-3"),
    audio,
    providerOptions: { deepgram: { summarize: "v2" } },
  })));
  assert.strictEqual(e.status, 400, "status " + e.status);
  assert.ok(/summarize/.test(e.message) && /emulat/.test(e.message), "message " + e.message);
  console.log("ok: summarize (not emulated) is a 400: " + e.message);
}

try {
  await transcribes();
  await wrongKeyIsRefused();
  await refusedOptionsSayWhy();
} catch (e) {
  console.error("FAIL:", e);
  process.exit(1);
}
