"""Zoomed canvases: training patches and Gaussian-weighted sliding-window prediction."""

import pytest
import torch
from torch import nn

from spinedlr.segment.model import ModelConfig, UCTransNet
from spinedlr.segment.tiles import FOREGROUND_SHARE, canvas_size, sample_patches, sliding_logits


def test_canvas_size_never_shrinks_below_the_network_input():
    assert canvas_size(128, 1.0) == 128
    assert canvas_size(128, 1.75) == 224
    assert canvas_size(64, 0.5) == 64


def test_patches_are_windows_of_their_own_slice_and_mostly_hold_foreground():
    n, size, canvas = 60, 16, 64
    x = torch.rand(n, 2, canvas, canvas)
    y = torch.zeros(n, canvas, canvas, dtype=torch.uint8)
    y[:, 50:54, 4:8] = 1  # a small structure near one corner: uniform patches rarely hold it
    px, py = sample_patches(x, y, size, torch.Generator().manual_seed(0))
    assert px.shape == (n, 2, size, size) and py.shape == (n, size, size)
    for i in range(n):
        windows = x[i].unfold(1, size, 1).unfold(2, size, 1)  # (C, r, c, size, size)
        hits = (windows == px[i][:, None, None]).flatten(3).all(-1).all(0).nonzero()
        assert len(hits) == 1, i
        r, c = hits[0].tolist()
        assert torch.equal(py[i], y[i, r : r + size, c : c + size])
    with_fg = (py.flatten(1).amax(1) > 0).float().mean()
    uniform = y[0].unfold(0, size, 1).unfold(1, size, 1).flatten(2).amax(-1).float().mean()  # 0.047
    assert with_fg > FOREGROUND_SHARE - 0.2 and with_fg > 3 * uniform


def test_a_canvas_of_the_network_size_is_one_plain_forward_pass():
    torch.manual_seed(0)
    model = UCTransNet(ModelConfig(base_channel=4, img_size=32, n_classes=3)).eval()
    x = torch.rand(2, 1, 32, 32)
    with torch.inference_mode():
        assert torch.equal(sliding_logits(model, x), model(x).float())


@pytest.mark.parametrize("canvas", [48, 64, 80])
def test_window_weights_cover_the_canvas_and_average_to_what_each_window_says(canvas):
    """A network that says the same everywhere must be heard unchanged on every canvas pixel
    (weights normalised, no pixel left out)."""
    torch.manual_seed(0)
    model = UCTransNet(ModelConfig(base_channel=4, img_size=32, n_classes=3)).eval()
    x = torch.rand(2, 1, canvas, canvas)
    with torch.no_grad():
        model.outc.weight.zero_()
        model.outc.bias.copy_(torch.tensor([0.5, -1.0, 2.0]))
        out = sliding_logits(model, x)
    assert out.shape == (2, 3, canvas, canvas)
    assert torch.allclose(out, torch.tensor([0.5, -1.0, 2.0])[None, :, None, None].expand_as(out), atol=1e-5)


class PixelwiseNet(nn.Module):
    """A per-pixel network: its output at a pixel depends on that pixel alone, so every window
    placed correctly must reproduce the whole-canvas output exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.config = ModelConfig(base_channel=4, img_size=32, n_classes=2)
        self.conv = nn.Conv2d(1, 2, kernel_size=1)

    def forward(self, x):
        return torch.tanh(self.conv(x))


@pytest.mark.parametrize("canvas", [56, 96])
def test_windows_are_put_back_where_they_were_taken(canvas):
    torch.manual_seed(0)
    net = PixelwiseNet()
    x = torch.rand(3, 1, canvas, canvas)
    with torch.no_grad():
        assert torch.allclose(sliding_logits(net, x), net(x), atol=1e-5)
