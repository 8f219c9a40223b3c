#!/usr/bin/python3
"""PyTorch fixtures for the U-Net engine (oracle: torch.nn via dna_unet.py, Debian python3-torch).

Run: /usr/bin/python3 tests/reference/make_unet_fixtures.py
Each case writes tests/data/unet/<name>.bin holding tensors in a tiny format (little-endian):
  b"CTST" u32 count, then per tensor: u32 name_len, name (utf-8), u32 rank, i64 dims[rank], f32 data (C order).
Tensors: every canonical state_dict key of the network (aliases decoder.encoder.* / *.all_modules.* left out),
"__input__" (C, D, H, W) and "__output__" (K, D, H, W) from net(input) in eval mode.
cases.txt line: name kind in_channels num_classes n_stages features... | kernels (3 per stage) | strides | n_conv | n_conv_dec
"""
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dna_unet import PlainConvUNet, ResidualEncoderUNet, randomize_  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "unet")


def write(path, tensors):
    with open(path, "wb") as f:
        f.write(b"CTST" + struct.pack("<I", len(tensors)))
        for name, t in tensors.items():
            t = t.detach().contiguous().float()
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb + struct.pack("<I", t.dim()))
            f.write(struct.pack(f"<{t.dim()}q", *t.shape))
            f.write(t.numpy().astype("<f4").tobytes())


def canonical(sd):
    return {k: v for k, v in sd.items() if not k.startswith("decoder.encoder.") and ".all_modules." not in k}


def single_layers():
    """layers.bin: single torch.nn layers. conv{i}.{input,weight,bias,output} with conv{i}.meta = [k0 k1 k2 s0 s1 s2];
    tconv{i}.* (ConvTranspose3d, kernel = stride) likewise; norm{i}.{input,weight,bias,output} with norm{i}.meta =
    [eps, slope] (InstanceNorm3d(affine) then LeakyReLU(slope); slope 0 = ReLU)."""
    g = torch.Generator().manual_seed(7)
    rnd = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    t = {}
    convs = [(3, 5, (3, 3, 3), (1, 1, 1), (5, 6, 7)), (17, 19, (3, 3, 3), (2, 2, 2), (6, 7, 9)),
             (16, 8, (1, 3, 3), (1, 2, 2), (3, 8, 9)), (9, 33, (1, 3, 3), (1, 1, 1), (2, 5, 6)),
             (20, 3, (1, 1, 1), (1, 1, 1), (3, 4, 5)), (8, 12, (3, 3, 3), (2, 1, 2), (5, 4, 7))]
    for i, (ci, co, k, s, shape) in enumerate(convs):
        m = torch.nn.Conv3d(ci, co, k, s, [(kk - 1) // 2 for kk in k], bias=True)
        with torch.no_grad():
            m.weight.copy_(rnd(*m.weight.shape) * 0.3)
            m.bias.copy_(rnd(co))
            x = rnd(ci, *shape)
            y = m(x[None])[0]
        t.update({f"conv{i}.input": x, f"conv{i}.weight": m.weight, f"conv{i}.bias": m.bias, f"conv{i}.output": y,
                  f"conv{i}.meta": torch.tensor([*k, *s], dtype=torch.float32)})
    for i, (ci, co, s, shape) in enumerate([(24, 10, (2, 2, 2), (3, 4, 5)), (18, 17, (1, 2, 2), (2, 3, 5))]):
        m = torch.nn.ConvTranspose3d(ci, co, s, s, bias=True)
        with torch.no_grad():
            m.weight.copy_(rnd(*m.weight.shape) * 0.3)
            m.bias.copy_(rnd(co))
            x = rnd(ci, *shape)
            y = m(x[None])[0]
        t.update({f"tconv{i}.input": x, f"tconv{i}.weight": m.weight, f"tconv{i}.bias": m.bias, f"tconv{i}.output": y,
                  f"tconv{i}.meta": torch.tensor([*s, *s], dtype=torch.float32)})
    for i, (c, eps, slope, shape) in enumerate([(19, 1e-5, 0.01, (3, 5, 7)), (5, 1e-3, 0.0, (4, 4, 9))]):
        m = torch.nn.InstanceNorm3d(c, eps=eps, affine=True)
        act = torch.nn.LeakyReLU(slope) if slope > 0 else torch.nn.ReLU()
        with torch.no_grad():
            m.weight.copy_(1 + 0.3 * rnd(c))
            m.bias.copy_(0.5 * rnd(c))
            x = rnd(c, *shape) * 3 + 2
            y = act(m(x[None]))[0]
        t.update({f"norm{i}.input": x, f"norm{i}.weight": m.weight, f"norm{i}.bias": m.bias, f"norm{i}.output": y,
                  f"norm{i}.meta": torch.tensor([eps, slope], dtype=torch.float32)})
    write(os.path.join(OUT, "layers.bin"), t)


def main():
    os.makedirs(OUT, exist_ok=True)
    single_layers()
    torch.manual_seed(0)
    cases = [
        ("plain3", "plain", 1, 3, [8, 16, 24], [[3, 3, 3]] * 3, [[1, 1, 1], [2, 2, 2], [2, 2, 2]], [2, 2, 2], [2, 2], (1, 8, 12, 16)),
        ("plain_aniso", "plain", 2, 4, [8, 16, 16, 24], [[1, 3, 3], [1, 3, 3], [3, 3, 3], [3, 3, 3]],
         [[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]], [2, 2, 2, 2], [2, 2, 2], (2, 4, 16, 24)),
        ("plain_odd", "plain", 1, 5, [5, 10, 20], [[3, 3, 3], [3, 3, 3], [3, 3, 3]], [[1, 1, 1], [2, 1, 2], [2, 2, 1]], [1, 2, 1], [1, 2],
         (1, 12, 6, 10)),
        ("resenc3", "resenc", 1, 3, [8, 16, 16], [[3, 3, 3]] * 3, [[1, 1, 1], [2, 2, 2], [2, 2, 2]], [1, 2, 2], [1, 1], (1, 8, 8, 12)),
        ("resenc_aniso", "resenc", 1, 2, [8, 16, 24], [[1, 3, 3], [3, 3, 3], [3, 3, 3]], [[1, 1, 1], [1, 2, 2], [2, 2, 2]], [1, 3, 2], [1, 1],
         (1, 6, 12, 12)),
    ]
    lines = []
    for name, kind, cin, ncls, feats, ks, st, nconv, ndec, shape in cases:
        cls = PlainConvUNet if kind == "plain" else ResidualEncoderUNet
        net = randomize_(cls(cin, feats, ks, st, nconv, ncls, ndec), seed=len(lines) + 1).eval()
        x = torch.randn(1, *shape)
        with torch.no_grad():
            y = net(x)
        tensors = dict(canonical(net.state_dict()))
        tensors["__input__"] = x[0]
        tensors["__output__"] = y[0]
        write(os.path.join(OUT, name + ".bin"), tensors)
        flat = lambda ll: " ".join(str(v) for l in ll for v in l)  # noqa: E731
        lines.append(f"{name} {kind} {cin} {ncls} {len(feats)} {' '.join(map(str, feats))} | {flat(ks)} | {flat(st)} | "
                     f"{' '.join(map(str, nconv))} | {' '.join(map(str, ndec))}")
    with open(os.path.join(OUT, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(len(lines), "cases")


if __name__ == "__main__":
    main()
