// SPDX-License-Identifier: LGPL-2.1-or-later
// The peer of bench-live-streams: N live streams through the official
// Deepgram JavaScript SDK (@deepgram/sdk, its live client, unmodified) in
// this one Node process, fed the same sequence audio at the same pace as the
// plugin's pipelines (one 100 ms block per stream every 100 ms).
//
//   node live_peer.js WS_URL PCM_FILE STREAMS SECONDS
//
// PCM_FILE holds SECONDS * 10 blocks of 16 kHz mono S16LE sequence audio
// (bench-live-streams writes it). Prints one line of key=value figures,
// measured exactly as the plugin's side measures them:
//   cpu_s       CPU (user + system) of this process from the first connect to
//               the last result
//   rss_kib     peak RSS while streaming minus RSS before the first connect
//   p50_ms p99_ms max_ms  block sent -> final Results holding its word
//   results     final words received; behind: streams whose slowest result
//               came later than 2 s; late_ticks: ticks more than one block late
"use strict";

const fs = require("fs");
const { DeepgramClient } = require("@deepgram/sdk");

const [wsUrl, pcmPath, streamsArg, secondsArg] = process.argv.slice(2);
if (!wsUrl || !pcmPath || !streamsArg || !secondsArg) {
  console.error("usage: node live_peer.js WS_URL PCM_FILE STREAMS SECONDS");
  process.exit(2);
}
const streams = Number(streamsArg);
const blocks = Number(secondsArg) * 10;
const blockBytes = 3200; /* 100 ms of 16 kHz mono S16LE */
const behindMs = 2000;
const pcm = fs.readFileSync(pcmPath);
if (pcm.length < blocks * blockBytes) {
  console.error("live_peer: " + pcmPath + " holds fewer than " + blocks + " blocks");
  process.exit(2);
}

const client = new DeepgramClient({
  apiKey: "bench",
  environment: { base: wsUrl.replace(/^ws/, "http"), production: wsUrl, agent: wsUrl },
});

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

function rssKib() {
  return process.memoryUsage().rss / 1024;
}

async function openStream(index, latencies) {
  const socket = await client.listen.v1.connect({
    encoding: "linear16",
    sample_rate: 16000,
    channels: 1,
    reconnectAttempts: 0,
  });
  const stream = { index, socket, sentMs: new Float64Array(blocks), worstMs: 0, results: 0 };
  stream.closed = new Promise((resolve, reject) => {
    socket.on("message", (msg) => {
      if (msg.type !== "Results" || !msg.is_final) return;
      const now = nowMs();
      for (const w of msg.channel.alternatives[0].words) {
        const block = Number(w.word.slice(1));
        if (!(block < blocks) || stream.sentMs[block] === 0) continue;
        const ms = now - stream.sentMs[block];
        latencies.push(ms);
        stream.worstMs = Math.max(stream.worstMs, ms);
        stream.results++;
      }
    });
    socket.on("close", resolve);
    socket.on("error", reject);
  });
  socket.connect();
  await socket.waitForOpen();
  return stream;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

async function main() {
  const latencies = [];
  const rssBefore = rssKib();
  let rssPeak = rssBefore;
  const cpuStart = process.cpuUsage();
  const all = await Promise.all(Array.from({ length: streams }, (_, i) => openStream(i, latencies)));

  /* One timer for all streams, as the plugin's side has one pushing thread. */
  let lateTicks = 0;
  const start = nowMs();
  for (let b = 0; b < blocks; b++) {
    const due = start + b * 100;
    const wait = due - nowMs();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    else if (-wait > 100) lateTicks++;
    const block = pcm.subarray(b * blockBytes, (b + 1) * blockBytes);
    for (const s of all) {
      s.sentMs[b] = nowMs();
      s.socket.sendMedia(block);
    }
    if (b % 10 === 9) rssPeak = Math.max(rssPeak, rssKib()); /* once a second, as the plugin's side */
  }
  for (const s of all) s.socket.sendCloseStream({ type: "CloseStream" });
  await Promise.all(all.map((s) => s.closed));
  const cpu = process.cpuUsage(cpuStart);

  latencies.sort((a, b) => a - b);
  const figures = {
    cpu_s: ((cpu.user + cpu.system) / 1e6).toFixed(3),
    rss_kib: Math.round(rssPeak - rssBefore),
    p50_ms: percentile(latencies, 0.5).toFixed(1),
    p99_ms: percentile(latencies, 0.99).toFixed(1),
    max_ms: (latencies.length ? latencies[latencies.length - 1] : 0).toFixed(1),
    results: latencies.length,
    behind: all.filter((s) => s.worstMs > behindMs || s.results < blocks).length,
    late_ticks: lateTicks,
  };
  console.log(Object.entries(figures).map(([k, v]) => k + "=" + v).join(" "));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error("live_peer FAILED:", err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
