"""A gradient that weighs differently from the value: :func:`scale_gradient`.

Training uses it to weigh the decoder's share of an example's gradient by its own factor
(:meth:`jetviz.vae.model._VAEBase.forward`'s ``decoder_weight``): a positive factor per β
moves no β's optimum, and the KL term, which does not depend on the decoder, is left as it is.
"""

from __future__ import annotations

import torch


class _ScaleGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(scale)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return grad * ctx.saved_tensors[0], None


def scale_gradient(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x unchanged; its gradient multiplied by ``scale``, (B,) per example (first axis)."""
    return _ScaleGradient.apply(x, scale.to(x.dtype).view(-1, *[1] * (x.ndim - 1)))
