// SPDX-License-Identifier: LGPL-2.1-or-later
// The official Deepgram JavaScript SDK (@deepgram/sdk, unmodified) against
// dg-emulator: streams a file with the live client and transcribes it with
// the pre-recorded client, pointed at the emulator's URLs only.
//
//   node conformance.js HTTP_URL WS_URL WAV_FILE EXPECTED_WORDS
//
// The WAV holds sequence audio (dg-sequence-audio), so the transcript is
// known exactly: b000000 b000001 ... Exit status 0 on success.
"use strict";

const fs = require("fs");
const assert = require("assert");
const { DeepgramClient } = require("@deepgram/sdk");

const [httpUrl, wsUrl, wavPath, expectedCount] = process.argv.slice(2);
if (!httpUrl || !wsUrl || !wavPath || !expectedCount) {
  console.error("usage: node conformance.js HTTP_URL WS_URL WAV_FILE EXPECTED_WORDS");
  process.exit(2);
}
const expected = Array.from({ length: Number(expectedCount) }, (_, i) =>
  "b" + String(i).padStart(6, "0")).join(" ");

const client = new DeepgramClient({
  apiKey: "sdk-conformance-key",
  environment: { base: httpUrl, production: wsUrl, agent: wsUrl, agentRest: httpUrl },
});

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(what + ": timed out after " + ms + " ms")), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function live() {
  const wav = fs.readFileSync(wavPath);
  const data = wav.indexOf("data", 12, "ascii");
  assert.ok(data > 0, "a WAV file");
  const pcm = wav.subarray(data + 8);
  const socket = await client.listen.v1.connect({
    model: "nova-3",
    encoding: "linear16",
    sample_rate: 16000,
    channels: 1,
    interim_results: "true",
    punctuate: "true",
    reconnectAttempts: 0,
  });
  const finals = [];
  let interims = 0;
  let metadata = null;
  const closed = new Promise((resolve, reject) => {
    socket.on("message", (msg) => {
      if (msg.type === "Results") {
        if (msg.is_final) finals.push(msg);
        else interims++;
      } else if (msg.type === "Metadata") {
        metadata = msg;
      }
    });
    socket.on("close", (event) => resolve(event));
    socket.on("error", (err) => reject(err));
  });
  socket.connect();
  await withTimeout(socket.waitForOpen(), 5000, "live open");
  for (let pos = 0; pos < pcm.length; pos += 3200) {
    socket.sendMedia(pcm.subarray(pos, Math.min(pos + 3200, pcm.length)));
  }
  socket.sendFinalize({ type: "Finalize" });
  socket.sendCloseStream({ type: "CloseStream" });
  const event = await withTimeout(closed, 10000, "live close");

  assert.strictEqual(event.code, 1000, "close code");
  assert.ok(metadata, "Metadata before close");
  assert.strictEqual(typeof metadata.request_id, "string");
  assert.ok(interims > 0, "interim results");
  const words = finals.flatMap((r) => r.channel.alternatives[0].words);
  const transcript = finals.map((r) => r.channel.alternatives[0].transcript)
    .filter((t) => t.length > 0).join(" ");
  assert.strictEqual(transcript, expected, "live transcript");
  assert.strictEqual(words.length, Number(expectedCount));
  let cursor = 0;
  for (const r of finals) {
    assert.ok(Math.abs(r.start - cursor) < 1e-5, "finals tile the audio");
    cursor = r.start + r.duration;
    assert.deepStrictEqual(r.channel_index, [0, 1]);
  }
  assert.ok(Math.abs(cursor - metadata.duration) < 1e-5, "finals cover all audio");
  console.log("live: ok (" + finals.length + " finals, " + interims + " interims, " +
    words.length + " words)");
}

async function prerecorded() {
  const response = await client.listen.v1.media.transcribeFile(fs.createReadStream(wavPath), {
    model: "nova-3",
    punctuate: true,
    utterances: true,
  });
  const result = response.results ? response : response.data || response;
  assert.ok(result.metadata && typeof result.metadata.request_id === "string", "metadata");
  const alt = result.results.channels[0].alternatives[0];
  assert.strictEqual(alt.transcript, expected, "pre-recorded transcript");
  assert.strictEqual(alt.words.length, Number(expectedCount));
  assert.ok(Array.isArray(result.results.utterances), "utterances");
  console.log("prerecorded: ok (" + alt.words.length + " words, request " +
    result.metadata.request_id + ")");
}

async function badKey() {
  const bad = new DeepgramClient({
    apiKey: "wrong-key",
    environment: { base: httpUrl, production: wsUrl, agent: wsUrl, agentRest: httpUrl },
  });
  try {
    await bad.listen.v1.media.transcribeFile(fs.createReadStream(wavPath), {}, { maxRetries: 0 });
  } catch (err) {
    assert.strictEqual(err.statusCode, 401, "401 for a wrong key");
    console.log("auth: ok (401 " + JSON.stringify(err.body) + ")");
    return;
  }
  throw new Error("a wrong key was accepted");
}

(async () => {
  try {
    await live();
    await prerecorded();
    if (process.env.DG_EMULATOR_API_KEY_SET === "1") await badKey();
    const counters = await (await fetch(httpUrl + "/_emulator/counters")).json();
    assert.ok(counters.live_accepted >= 1 && counters.batch_ok >= 1, "emulator counters");
    console.log("counters: " + JSON.stringify(counters));
    console.log("SDK conformance: ok");
    process.exit(0);
  } catch (err) {
    console.error("SDK conformance FAILED:", err && err.stack ? err.stack : err);
    process.exit(1);
  }
})();
