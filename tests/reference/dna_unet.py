"""Plain torch.nn re-statements of dynamic_network_architectures' PlainConvUNet and ResidualEncoderUNet
(the networks nnU-Net v2 builds from plans.json), with exactly the same module names, so that
`state_dict()` keys, key order and aliasing match real nnU-Net checkpoints (see docs/nnunet-numerics.md
§2.2 and §3). Written from that spec and from reading dynamic_network_architectures (building_blocks/
simple_conv_blocks.py, plain_conv_encoder.py, residual.py, residual_encoders.py, unet_decoder.py); no code copied.

Used as the independent oracle (PyTorch's own Conv3d/InstanceNorm3d/ConvTranspose3d numerics) by the fixture
generators for the engine, the model loader and the pipeline. Run with Debian's /usr/bin/python3 (python3-torch).
"""
import torch
from torch import nn


def _pad(k):
    return [(x - 1) // 2 for x in k]


class ConvDropoutNormReLU(nn.Module):
    # Registration order matters for state_dict key order: conv, norm, nonlin, then all_modules (aliases).
    def __init__(self, cin, cout, kernel, stride, bias=True, nonlin="leaky_relu", eps=1e-5):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, kernel, stride, padding=_pad(kernel), bias=bias)
        self.norm = nn.InstanceNorm3d(cout, eps=eps, affine=True)
        ops = [self.conv, self.norm]
        if nonlin is not None:
            self.nonlin = nn.LeakyReLU(0.01, inplace=True) if nonlin == "leaky_relu" else nn.ReLU(inplace=True)
            ops.append(self.nonlin)
        self.all_modules = nn.Sequential(*ops)

    def forward(self, x):
        return self.all_modules(x)


class StackedConvBlocks(nn.Module):
    def __init__(self, n, cin, cout, kernel, first_stride, bias=True, nonlin="leaky_relu"):
        super().__init__()
        self.convs = nn.Sequential(
            ConvDropoutNormReLU(cin, cout, kernel, first_stride, bias, nonlin),
            *[ConvDropoutNormReLU(cout, cout, kernel, 1, bias, nonlin) for _ in range(n - 1)])

    def forward(self, x):
        return self.convs(x)


class PlainConvEncoder(nn.Module):
    def __init__(self, cin, features, kernels, strides, n_conv, bias=True, nonlin="leaky_relu"):
        super().__init__()
        stages = []
        for s, f in enumerate(features):
            # pool='conv': each stage is Sequential(StackedConvBlocks) -> keys stages.{s}.0.convs.{j}
            stages.append(nn.Sequential(StackedConvBlocks(n_conv[s], cin, f, kernels[s], strides[s], bias, nonlin)))
            cin = f
        self.stages = nn.Sequential(*stages)
        self.output_channels, self.kernel_sizes, self.strides = list(features), kernels, strides
        self.conv_bias, self.nonlin_name = bias, nonlin

    def forward(self, x):
        skips = []
        for st in self.stages:
            x = st(x)
            skips.append(x)
        return skips


class BasicBlockD(nn.Module):
    def __init__(self, cin, cout, kernel, stride, bias=True, nonlin="leaky_relu"):
        super().__init__()
        self.conv1 = ConvDropoutNormReLU(cin, cout, kernel, stride, bias, nonlin)
        self.conv2 = ConvDropoutNormReLU(cout, cout, kernel, 1, bias, None)
        self.nonlin2 = nn.LeakyReLU(0.01, inplace=True) if nonlin == "leaky_relu" else nn.ReLU(inplace=True)
        stride = list(stride)
        has_stride = any(s != 1 for s in stride)
        if has_stride or cin != cout:
            ops = []
            if has_stride:  # ResNet-D: average pool, then 1x1x1 projection without bias
                ops.append(nn.AvgPool3d(stride, stride))
            if cin != cout:
                ops.append(ConvDropoutNormReLU(cin, cout, [1, 1, 1], 1, False, None))
            self.skip = nn.Sequential(*ops)
        else:
            self.skip = nn.Identity()

    def forward(self, x):
        r = self.skip(x)
        out = self.conv2(self.conv1(x))
        out = out + r
        return self.nonlin2(out)


class StackedResidualBlocks(nn.Module):
    def __init__(self, n, cin, cout, kernel, first_stride, bias=True, nonlin="leaky_relu"):
        super().__init__()
        self.blocks = nn.Sequential(BasicBlockD(cin, cout, kernel, first_stride, bias, nonlin),
                                    *[BasicBlockD(cout, cout, kernel, [1, 1, 1], bias, nonlin) for _ in range(n - 1)])

    def forward(self, x):
        return self.blocks(x)


class ResidualEncoder(nn.Module):
    def __init__(self, cin, features, kernels, strides, n_blocks, bias=True, nonlin="leaky_relu"):
        super().__init__()
        # default stem: one conv block to features[0], no stride
        self.stem = StackedConvBlocks(1, cin, features[0], kernels[0], 1, bias, nonlin)
        cin = features[0]
        stages = []
        for s, f in enumerate(features):
            stages.append(StackedResidualBlocks(n_blocks[s], cin, f, kernels[s], strides[s], bias, nonlin))
            cin = f
        self.stages = nn.Sequential(*stages)
        self.output_channels, self.kernel_sizes, self.strides = list(features), kernels, strides
        self.conv_bias, self.nonlin_name = bias, nonlin

    def forward(self, x):
        x = self.stem(x)
        skips = []
        for st in self.stages:
            x = st(x)
            skips.append(x)
        return skips


class UNetDecoder(nn.Module):
    def __init__(self, encoder, num_classes, n_conv_decoder):
        super().__init__()
        self.encoder = encoder  # registered again: keys decoder.encoder.* alias the encoder's tensors
        n = len(encoder.output_channels)
        stages, transp, seg = [], [], []
        for s in range(1, n):
            below = encoder.output_channels[-s]
            skip = encoder.output_channels[-(s + 1)]
            st = encoder.strides[-s]
            transp.append(nn.ConvTranspose3d(below, skip, st, st, bias=encoder.conv_bias))
            stages.append(StackedConvBlocks(n_conv_decoder[s - 1], 2 * skip, skip, encoder.kernel_sizes[-(s + 1)], 1,
                                            encoder.conv_bias, encoder.nonlin_name))
            seg.append(nn.Conv3d(skip, num_classes, 1, 1, 0, bias=True))
        self.stages = nn.ModuleList(stages)
        self.transpconvs = nn.ModuleList(transp)
        self.seg_layers = nn.ModuleList(seg)

    def forward(self, skips):
        x = skips[-1]
        for s in range(len(self.stages)):
            x = self.transpconvs[s](x)
            x = torch.cat((x, skips[-(s + 2)]), 1)  # upsampled first, skip second
            x = self.stages[s](x)
        return self.seg_layers[-1](x)  # deep supervision off: only the last head


class PlainConvUNet(nn.Module):
    def __init__(self, input_channels, features, kernels, strides, n_conv, num_classes, n_conv_decoder,
                 nonlin="leaky_relu"):
        super().__init__()
        self.encoder = PlainConvEncoder(input_channels, features, kernels, strides, n_conv, True, nonlin)
        self.decoder = UNetDecoder(self.encoder, num_classes, n_conv_decoder)

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ResidualEncoderUNet(nn.Module):
    def __init__(self, input_channels, features, kernels, strides, n_blocks, num_classes, n_conv_decoder,
                 nonlin="leaky_relu"):
        super().__init__()
        self.encoder = ResidualEncoder(input_channels, features, kernels, strides, n_blocks, True, nonlin)
        self.decoder = UNetDecoder(self.encoder, num_classes, n_conv_decoder)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def randomize_(net, seed=0):
    """Give every parameter non-trivial values (InstanceNorm affine included) so tests exercise them all."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel()  # He-like scale keeps activations O(1) through deep nets
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / fan_in) ** 0.5)
    return net


if __name__ == "__main__":
    # Self-check of the key layout against docs/nnunet-numerics.md §2.2's worked example (n=6 PlainConvUNet).
    net = PlainConvUNet(1, [32, 64, 128, 256, 320, 320], [[3, 3, 3]] * 6,
                        [[1, 1, 1]] + [[2, 2, 2]] * 5, [2] * 6, 26, [2] * 5)
    sd = net.state_dict()
    uniq = {t.data_ptr() for t in sd.values()}
    print(len(sd), "keys,", len(uniq), "unique tensors,", sum(p.numel() for p in net.parameters()), "parameters")
    assert len(sd) == 292 and len(uniq) == 108 and sum(p.numel() for p in net.parameters()) == 31214914
    assert tuple(sd["decoder.transpconvs.4.weight"].shape) == (64, 32, 2, 2, 2)
    assert tuple(sd["decoder.seg_layers.4.weight"].shape) == (26, 32, 1, 1, 1)
    print("ok")
