"""A faster, exactly equivalent copy of a trained autoencoder for scoring many jets.

On the CPU, strided and transposed convolutions with one or few channels run several times
slower than ordinary convolutions of the same arithmetic, so they are rewritten:

* the first convolution (kernel 4, stride 2, padding 1) becomes PixelUnshuffle(2) and a
  3 × 3 convolution over the four input phases;
* each transposed convolution (kernel 4, stride 2, padding 1) becomes a 3 × 3 convolution
  producing the four output phases as channels, then PixelShuffle(2) (the sub-pixel form):
  output pixel (2m + a, 2n + b) takes input pixel m + d (d ∈ {−1, 0, 1}) through kernel
  tap k = a + 1 − 2d when 0 ≤ k ≤ 3, and nothing otherwise.

Spectral norms are folded into plain weights (their eval-mode values) and images run in the
channels-last memory layout. The copy is rebuilt from the model, never stored.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import parametrize

from jetviz.anomaly.model import ConvAE


def _plain(layer: nn.Module) -> nn.Module:
    """A copy of the layer with its parametrizations (spectral norm) folded into the weight.

    Built afresh rather than with ``remove_parametrizations`` on a deep copy: that would
    delete the weight property from the parametrized class the original shares.
    """
    if not parametrize.is_parametrized(layer):
        return copy.deepcopy(layer)
    if isinstance(layer, nn.Linear):
        plain = nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    elif isinstance(layer, nn.ConvTranspose2d):
        plain = nn.ConvTranspose2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                   layer.stride, layer.padding, bias=layer.bias is not None)
    elif isinstance(layer, nn.Conv2d):
        plain = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                          layer.stride, layer.padding, bias=layer.bias is not None)
    else:
        raise ValueError(f"cannot fold the parametrization of {type(layer).__name__}")
    with torch.no_grad():
        plain.weight.copy_(layer.weight)  # the spectrally normalised weight (eval mode)
        if layer.bias is not None:
            plain.bias.copy_(layer.bias)
    return plain


def subpixel_from_transposed(layer: nn.ConvTranspose2d) -> nn.Sequential:
    """Conv2d(3 × 3) + PixelShuffle(2) equal to a ConvTranspose2d(k=4, s=2, p=1)."""
    if (layer.kernel_size, layer.stride, layer.padding) != ((4, 4), (2, 2), (1, 1)):
        raise ValueError("only kernel 4, stride 2, padding 1 transposed convolutions convert")
    w = layer.weight.detach()  # (c_in, c_out, 4, 4)
    c_in, c_out = w.shape[:2]
    w3 = torch.zeros(c_out, 2, 2, c_in, 3, 3, dtype=w.dtype)
    for a in (0, 1):
        for b in (0, 1):
            for th in range(3):
                kh = a + 1 - 2 * (th - 1)
                for tw in range(3):
                    kw = b + 1 - 2 * (tw - 1)
                    if 0 <= kh <= 3 and 0 <= kw <= 3:
                        w3[:, a, b, :, th, tw] = w[:, :, kh, kw].T
    conv = nn.Conv2d(c_in, 4 * c_out, 3, padding=1, bias=layer.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(w3.reshape(4 * c_out, c_in, 3, 3))
        if layer.bias is not None:
            conv.bias.copy_(layer.bias.detach().repeat_interleave(4))
    return nn.Sequential(conv, nn.PixelShuffle(2))


def subpixel_from_strided(layer: nn.Conv2d) -> nn.Sequential:
    """PixelUnshuffle(2) + Conv2d(3 × 3) equal to a Conv2d(k=4, s=2, p=1).

    Input pixel 2i + a sits in phase channel a of the unshuffled image at position i; output
    m takes it through tap k = 2(i − m) + 1 + a when 0 ≤ k ≤ 3.
    """
    if (layer.kernel_size, layer.stride, layer.padding) != ((4, 4), (2, 2), (1, 1)):
        raise ValueError("only kernel 4, stride 2, padding 1 convolutions convert")
    w = layer.weight.detach()  # (c_out, c_in, 4, 4)
    c_out, c_in = w.shape[:2]
    w3 = torch.zeros(c_out, c_in, 2, 2, 3, 3, dtype=w.dtype)
    for a in (0, 1):
        for b in (0, 1):
            for th in range(3):
                kh = 2 * (th - 1) + 1 + a
                for tw in range(3):
                    kw = 2 * (tw - 1) + 1 + b
                    if 0 <= kh <= 3 and 0 <= kw <= 3:
                        w3[:, :, a, b, th, tw] = w[:, :, kh, kw]
    conv = nn.Conv2d(4 * c_in, c_out, 3, padding=1, bias=layer.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(w3.reshape(c_out, 4 * c_in, 3, 3))
        if layer.bias is not None:
            conv.bias.copy_(layer.bias.detach())
    return nn.Sequential(nn.PixelUnshuffle(2), conv)


class FastScorer(nn.Module):
    """Same energies as the ConvAE it was built from (to float rounding), faster on a CPU."""

    def __init__(self, model: ConvAE) -> None:
        super().__init__()
        self.config = model.config
        was = model.training
        model.eval()
        first = _plain(model.encoder[0])
        self.encoder = nn.Sequential(subpixel_from_strided(first),
                                     *[_plain(m) for m in model.encoder[1:]])
        layers = []
        for m in model.decoder:
            m = _plain(m)
            layers.append(subpixel_from_transposed(m) if isinstance(m, nn.ConvTranspose2d)
                          else m)
        self.decoder = nn.Sequential(*layers)
        self.spherical = model.config.spherical
        model.train(was)
        self.eval()

    def project(self, z: torch.Tensor) -> torch.Tensor:
        if not self.spherical:
            return z
        return z / z.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)  # the fast layout for CPU convs
        return self.decoder(self.project(self.encoder(x))).contiguous()

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self(x)).pow(2).flatten(1).mean(1)
