#!/usr/bin/env node
// Times one forward pass of the ONNX export of ctspine_bench_unet's network (export_unet_onnx.py) under ONNX Runtime
// (npm onnxruntime-node) and OpenVINO (npm openvino-node) on the CPU, fp32, with 1 and 2 threads; checks each output
// against PyTorch's and prints median wall seconds and GFLOP/s (FLOP count as network_gflop() in ../bench_unet.cpp).
//
// Usage: node bench_onnx.js --dir SCRATCH [--patches 96,128] [--threads 1,2] [--reps N]
//                           [--ort DIR_OF_onnxruntime-node] [--ov DIR_OF_openvino-node]
//   SCRATCH holds unet_p{P}.onnx, input_p{P}.f32, ref_p{P}.f32 and torch.json from export_unet_onnx.py.
//   --reps: timed passes after one untimed warm-up (default: 3 below 128^3, 1 from 128^3 on, as bench_unet.cpp).
//   An engine whose module is missing or does not load is reported as skipped with the reason.
'use strict';

const fs = require('fs');
const path = require('path');

function parseArgs(argv) {
  const a = { dir: '/tmp/ctspine-onnx-bench', patches: [96, 128], threads: [1, 2], reps: 0, ort: '', ov: '' };
  for (let i = 2; i < argv.length; ++i) {
    const k = argv[i], v = argv[i + 1];
    if (k === '--dir') a.dir = v, ++i;
    else if (k === '--patches') a.patches = v.split(',').map(Number), ++i;
    else if (k === '--threads') a.threads = v.split(',').map(Number), ++i;
    else if (k === '--reps') a.reps = Number(v), ++i;
    else if (k === '--ort') a.ort = v, ++i;
    else if (k === '--ov') a.ov = v, ++i;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.ort) a.ort = path.join(a.dir, 'ort', 'node_modules', 'onnxruntime-node');
  if (!a.ov) a.ov = path.join(a.dir, 'ov', 'node_modules', 'openvino-node');
  return a;
}

// Port of network_gflop() in ../bench_unet.cpp for this configuration: every conv counted as 2*k^3*Cin*Cout per
// output voxel, the transposed convs as 2*Cbelow*Cskip per output voxel, the final 1x1x1 seg layer; norms,
// activations and the skipped (deep-supervision) seg heads not counted.
function networkGflop(p) {
  const F = [32, 64, 128, 256, 320, 320], n = F.length;
  const vox = [];
  let f = 0, cin = 1, s = p;
  for (let i = 0; i < n; ++i) {
    if (i > 0) s /= 2;
    const v = s * s * s;
    vox.push(v);
    f += 2 * 27 * cin * F[i] * v + 2 * 27 * F[i] * F[i] * v;
    cin = F[i];
  }
  for (let i = 0; i < n - 1; ++i) {
    const below = F[n - 1 - i], c = F[n - 2 - i], v = vox[n - 2 - i];
    f += 2 * below * c * v;
    f += 2 * 27 * 2 * c * c * v + 2 * 27 * c * c * v;
  }
  f += 2 * F[0] * 26 * vox[0];
  return f / 1e9;
}

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

function compare(out, ref) {
  if (out.length !== ref.length) return `size mismatch ${out.length} vs ${ref.length}`;
  let maxDiff = 0, maxRef = 0;
  for (let i = 0; i < ref.length; ++i) {
    const d = Math.abs(out[i] - ref[i]);
    if (!(d <= maxDiff)) maxDiff = d;  // also catches NaN
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return { maxDiff, maxRef, ok: maxDiff <= 1e-3 * Math.max(1, maxRef) };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e9;

// ONNX Runtime. API as documented in onnxruntime-common's inference-session.d.ts / tensor.d.ts:
// InferenceSession.create(path, SessionOptions{intraOpNumThreads, interOpNumThreads, executionMode,
// graphOptimizationLevel, executionProviders}), session.run(feeds) -> Promise of {name: Tensor}, session.release();
// new Tensor('float32', Float32Array, dims). With intraOpNumThreads = N the calling thread is one of the N.
function ortEngine(dir) {
  const ort = require(dir);
  return {
    name: `onnxruntime-node ${ort.env.versions.node}`,
    async open(model, threads) {
      const s = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1,
        executionMode: 'sequential', graphOptimizationLevel: 'all',
      });
      return {
        async run(data, p) {
          const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, [1, 1, p, p, p]) });
          return r[s.outputNames[0]].data;
        },
        async close() { await s.release(); },
      };
    },
  };
}

// OpenVINO. API as documented in openvino-node's types/addon.d.ts: const { addon: ov } = require('openvino-node');
// new ov.Core(); core.readModel(path) (reads .onnx through the ONNX frontend); core.compileModel(model, 'CPU', config);
// compiled.createInferRequest(); request.infer([Tensor]) -> {outputName: Tensor}; new ov.Tensor(ov.element.f32, shape,
// Float32Array); tensor.data. Config keys are OpenVINO CPU plugin properties: INFERENCE_NUM_THREADS, NUM_STREAMS,
// PERFORMANCE_HINT, and INFERENCE_PRECISION_HINT = f32 (the CPU plugin otherwise runs bf16 by default on CPUs with
// native bf16, e.g. AVX512_BF16, which this Zen 5 has).
function ovEngine(dir) {
  const { addon: ov } = require(dir);
  const core = new ov.Core();
  return {
    name: `openvino-node ${require(path.join(dir, 'package.json')).version}`,
    async open(model, threads) {
      const m = await core.readModel(model);
      const cm = await core.compileModel(m, 'CPU', {
        INFERENCE_NUM_THREADS: String(threads), NUM_STREAMS: '1', PERFORMANCE_HINT: 'LATENCY',
        INFERENCE_PRECISION_HINT: 'f32',
      });
      const req = cm.createInferRequest();
      return {
        async run(data, p) {
          const r = req.infer([new ov.Tensor(ov.element.f32, [1, 1, p, p, p], data)]);
          return Object.values(r)[0].data;
        },
        async close() {},
      };
    },
  };
}

async function main() {
  const a = parseArgs(process.argv);
  const torch = fs.existsSync(path.join(a.dir, 'torch.json')) ? JSON.parse(fs.readFileSync(path.join(a.dir, 'torch.json'))) : null;
  const engines = [];
  for (const [label, mk, dir] of [['onnxruntime', ortEngine, a.ort], ['openvino', ovEngine, a.ov]]) {
    try {
      engines.push({ label, ...mk(dir) });
    } catch (e) {
      const why = fs.existsSync(path.join(a.dir, `${label}.status`)) ? fs.readFileSync(path.join(a.dir, `${label}.status`), 'utf8').trim() : '';
      console.log(`${label}: SKIPPED, module does not load (${String(e.message).split('\n')[0]})${why ? `\n  install: ${why}` : ''}`);
    }
  }
  const rows = [];  // {p, t, engine, s}
  if (torch) for (const [p, byT] of Object.entries(torch.timing || {}))
    for (const [t, s] of Object.entries(byT)) rows.push({ p: Number(p), t: Number(t), engine: `PyTorch ${torch.torch} (${torch.config})`, s });
  for (const p of a.patches) {
    const model = path.join(a.dir, `unet_p${p}.onnx`);
    const input = readF32(path.join(a.dir, `input_p${p}.f32`));
    const ref = readF32(path.join(a.dir, `ref_p${p}.f32`));
    const gf = networkGflop(p);
    const reps = a.reps > 0 ? a.reps : (p >= 128 ? 1 : 3);
    for (const e of engines) for (const t of a.threads) {
      try {
        let t0 = now();
        const sess = await e.open(model, t);
        const load = now() - t0;
        t0 = now();
        const out = await sess.run(input, p);
        const first = now() - t0;
        const cmp = compare(out, ref);
        const times = [];
        for (let r = 0; r < reps; ++r) {
          t0 = now();
          await sess.run(input, p);
          times.push(now() - t0);
        }
        await sess.close();
        const s = median(times);
        rows.push({ p, t, engine: e.name, s });
        console.log(`${e.name} ${p}^3 ${t} thr: median ${s.toFixed(3)} s of ${reps} (${(gf / s).toFixed(0)} GFLOP/s); ` +
          `load+compile ${load.toFixed(2)} s, first pass ${first.toFixed(2)} s; vs PyTorch max|diff| ` +
          (typeof cmp === 'string' ? cmp : `${cmp.maxDiff.toExponential(2)} (max|ref| ${cmp.maxRef.toFixed(2)}) ${cmp.ok ? 'ok' : 'MISMATCH'}`));
      } catch (err) {
        console.log(`${e.name} ${p}^3 ${t} thr: FAILED: ${String(err.message || err).split('\n')[0]}`);
      }
    }
  }
  console.log(`\nsummary: median wall seconds per forward pass (GFLOP/s at network_gflop: ` +
    a.patches.map((p) => `${p}^3 = ${networkGflop(p).toFixed(0)} GFLOP`).join(', ') + ')');
  for (const p of a.patches) for (const t of a.threads)
    for (const r of rows.filter((x) => x.p === p && x.t === t))
      console.log(`  ${`${p}^3 ${t} thr`.padEnd(12)} ${r.engine.padEnd(34)} ${r.s.toFixed(3).padStart(8)} s  ${(networkGflop(p) / r.s).toFixed(0).padStart(5)} GFLOP/s`);
}

main().catch((e) => { console.error(e); process.exit(1); });
