"""The trainable 3D classifier (spinedlr.classify3d): size, learning, leakage, resume, weights.

All on tiny synthetic volumes, one thread, fp32 unless a test is about precision. The toy
task: a bright slab in the upper (outcome 1) or lower (outcome 0) half of a cubic ROI in
noise. Location is what a randomly initialised ViT barely sees (its mean-pooled tokens are
nearly position-blind; AUC 0.77 on the test cohort below), so a high AUC needs training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console
from sklearn.metrics import roc_auc_score

from spinedlr.classify3d import Classifier3D, Classify3DSettings, Volume
from spinedlr.classify3d import train as train_module
from spinedlr.classify3d.data import prepare, roi_box, stack
from spinedlr.classify3d.network import IDLE, Classifier3DNet, build_network, load_weights, parameter_count
from spinedlr.classify3d.train import FORMAT
from spinedlr.errors import ConfigError
from spinedlr.segment.checkpoint import read_checkpoint

QUIET = Console(quiet=True)
SMALL = {"input_size": 32, "hidden_size": 32, "heads": 2, "mlp_dim": 64, "depth": 1, "batch_size": 4,
         "precision": "fp32", "num_threads": 1, "seed": 3}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _volume(i: int, label: int, rng: np.random.Generator) -> Volume:
    img = rng.normal(0, 1, (20, 24, 22)).astype(np.float32)
    mask = np.zeros(img.shape, np.uint8)
    mask[4:16, 6:18, 5:17] = 1
    img[(slice(4, 10) if label else slice(10, 16)), 6:18, 5:17] += 1.0
    return Volume(f"p{i}", img, mask)


def _cohort(n: int, offset: int, seed: int = 0) -> tuple[list[Volume], np.ndarray]:
    rng = np.random.default_rng(seed + offset)
    y = np.arange(n) % 2
    return [_volume(offset + i, int(y[i]), rng) for i in range(n)], y


def _state(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path, fmt=FORMAT)["state_dict"]


def _paper_vit_reference() -> int:
    """Zou et al.'s ViT-3D counted by formula (MONAI layout: conv patch embedding, learnable
    position embeddings, qkv without bias, no class token; our one-logit head)."""
    size, patch, dim, depth, mlp = 128, 16, 1024, 6, 2048
    embed = patch**3 * 1 * dim + dim  # Conv3d(1, dim, 16, stride 16) weight + bias
    pos = (size // patch) ** 3 * dim  # 512 tokens
    attn = dim * 3 * dim + (dim * dim + dim)  # qkv (no bias) + output projection
    mlp_block = (dim * mlp + mlp) + (mlp * dim + dim)
    norms = 2 * 2 * dim  # two LayerNorms (weight + bias)
    return embed + pos + depth * (attn + mlp_block + norms) + 2 * dim + (dim + 1)  # final norm, head


def test_paper_vit_parameter_count_matches_the_formula():
    assert _paper_vit_reference() == 55_103_489  # stated figure, by hand: 4195328+524288+6*8396800+2048+1025
    cfg = Classify3DSettings(preset="paper").net_config()
    assert (cfg.input_size, cfg.patch_size, cfg.hidden_size, cfg.depth, cfg.heads, cfg.mlp_dim) == (
        128, 16, 1024, 6, 8, 2048)
    with torch.device("meta"):  # count without allocating 220 MB
        net = Classifier3DNet(cfg)
    assert parameter_count(net) == 55_103_489
    idle = sum(p.numel() for n, p in net.named_parameters() if IDLE in n)
    assert idle == 6 * 2 * 1024  # MONAI's unused cross-attention LayerNorm, one per block
    assert net.feature_dim == 1024


def test_features_are_the_pooled_layer_the_head_reads():
    net = build_network(Classify3DSettings(**SMALL).net_config(), seed=0).eval()
    x = torch.randn(3, 1, 32, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        tokens = net.body(x)[0]  # (3, 8 tokens, 32) after MONAI's final LayerNorm
        feats = net.features(x)
        torch.testing.assert_close(feats, tokens.mean(dim=1))
        torch.testing.assert_close(net(x), feats @ net.head.weight[0] + net.head.bias[0])
    assert tokens.shape == (3, 8, 32)


def test_prepare_crops_to_the_roi_zscores_and_resizes():
    img = np.zeros((30, 30, 30), np.float32)
    img[10:20, 5:25, 12:18] = np.arange(10 * 20 * 6, dtype=np.float32).reshape(10, 20, 6)
    mask = np.zeros(img.shape, np.uint8)
    mask[10:20, 5:25, 12:18] = 1
    assert roi_box(mask, 0) == (slice(10, 20), slice(5, 25), slice(12, 18))
    assert roi_box(mask, 7) == (slice(3, 27), slice(0, 30), slice(5, 25))  # clipped at the border
    x = prepare(Volume("a", img, mask), 16, 0)
    crop = img[10:20, 5:25, 12:18]
    ref = torch.nn.functional.interpolate(
        torch.from_numpy((crop - crop.mean()) / crop.std())[None, None], size=(16, 16, 16), mode="trilinear")
    assert x.shape == (1, 16, 16, 16)
    torch.testing.assert_close(x, ref[0], rtol=1e-5, atol=1e-5)
    assert stack([Volume("a", img), Volume("b", img)], 8, 0).shape == (2, 1, 8, 8, 8)


def test_training_learns_the_toy_task_with_the_cpu_preset():
    tr, ytr = _cohort(32, 0)
    va, yva = _cohort(12, 100)
    te, yte = _cohort(20, 200)
    settings = Classify3DSettings(preset="cpu", epochs=8, precision="fp32", num_threads=1)
    untrained = build_network(settings.net_config(), settings.seed).eval()
    with torch.no_grad():
        auc0 = roc_auc_score(yte, untrained(stack(te, 64, settings.margin)).numpy())
    clf = Classifier3D(settings, console=QUIET).fit(tr, ytr, val=(va, yva))
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < 0.5 * losses[0]
    auc = roc_auc_score(yte, clf.predict_proba(te)[:, 1])
    assert auc > 0.9 and auc > auc0 + 0.1, (auc, auc0)
    assert clf.best_auc_ == max(h["val_auc"] for h in clf.history_)
    assert clf.weights_ == "none (random init)"
    table = clf.features(te[:5])
    assert table.columns == ["patient_id", *[f"dl3d_{i}" for i in range(128)]]
    assert table["patient_id"].to_list() == [v.patient_id for v in te[:5]]
    with torch.no_grad():
        direct = clf.net_.features(stack(te[:5], 64, settings.margin))
    np.testing.assert_allclose(table.drop("patient_id").to_numpy(), direct.numpy(), rtol=1e-5, atol=1e-6)


def test_validation_labels_never_reach_the_weights(tmp_path):
    tr, ytr = _cohort(12, 0)
    va, yva = _cohort(8, 100)
    settings = Classify3DSettings(**SMALL, epochs=3)
    a = Classifier3D(settings, tmp_path / "a" / "m.pt", QUIET).fit(tr, ytr, val=(va, yva))
    b = Classifier3D(settings, tmp_path / "b" / "m.pt", QUIET).fit(tr, ytr, val=(va, 1 - yva))
    assert [h["val_auc"] for h in a.history_] != [h["val_auc"] for h in b.history_]
    sa, sb = _state(tmp_path / "a" / "m.last.pt"), _state(tmp_path / "b" / "m.last.pt")
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    # control: the training labels do reach them
    Classifier3D(settings, tmp_path / "c" / "m.pt", QUIET).fit(tr, 1 - ytr, val=(va, yva))
    sc = _state(tmp_path / "c" / "m.last.pt")
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


@pytest.mark.parametrize("network", ["vit", "resnet3d"])
def test_resume_after_interruption_is_bit_identical(tmp_path, monkeypatch, network):
    tr, ytr = _cohort(10, 0)
    va, yva = _cohort(6, 100)
    settings = Classify3DSettings(**SMALL, network=network, resnet_widths=(4, 8, 8, 8), epochs=4)
    full = Classifier3D(settings, tmp_path / "full" / "m.pt", QUIET).fit(tr, ytr, val=(va, yva))

    real = train_module.Trainer.run_epoch

    def crash_at_3(self, epoch):
        if epoch == 3:
            raise KeyboardInterrupt
        return real(self, epoch)

    monkeypatch.setattr(train_module.Trainer, "run_epoch", crash_at_3)
    with pytest.raises(KeyboardInterrupt):
        Classifier3D(settings, tmp_path / "part" / "m.pt", QUIET).fit(tr, ytr, val=(va, yva))
    assert read_checkpoint(tmp_path / "part" / "m.last.pt", fmt=FORMAT)["epoch"] == 2
    monkeypatch.setattr(train_module.Trainer, "run_epoch", real)
    log = Console(record=True, width=200)
    resumed = Classifier3D(settings, tmp_path / "part" / "m.pt", log).fit(tr, ytr, val=(va, yva))
    assert "resuming after epoch 2" in log.export_text()  # not a fresh (equally seeded) run

    assert resumed.history_ == full.history_ and resumed.best_epoch_ == full.best_epoch_
    for name in ("m.last.pt", "m.pt"):
        sa, sb = _state(tmp_path / "full" / name), _state(tmp_path / "part" / name)
        assert all(torch.equal(sa[k], sb[k]) for k in sa), name
    fa, fb = full.features(va), resumed.features(va)
    assert fa.equals(fb)


def test_bf16_training_records_its_precision_and_a_change_starts_fresh(tmp_path):
    tr, ytr = _cohort(12, 0)
    va, yva = _cohort(6, 100)
    out = tmp_path / "m.pt"
    clf = Classifier3D(Classify3DSettings(**{**SMALL, "precision": "bf16"}, epochs=3), out, QUIET).fit(
        tr, ytr, val=(va, yva))
    assert clf.history_[-1]["train_loss"] < clf.history_[0]["train_loss"]
    assert read_checkpoint(out, fmt=FORMAT)["precision"] == "bf16"
    assert read_checkpoint(out.with_name("m.last.pt"), fmt=FORMAT)["precision"] == "bf16"
    assert clf.features(va[:2]).shape == (2, 33)
    log = Console(record=True, width=200)
    again = Classifier3D(Classify3DSettings(**SMALL, epochs=3), out, log).fit(tr, ytr, val=(va, yva))
    assert "different precision; starting fresh" in log.export_text()
    assert [h["epoch"] for h in again.history_] == [1, 2, 3]


def test_a_changed_training_or_validation_cohort_starts_fresh(tmp_path):
    """The checkpoint path stays the same when a study's split changes; resuming there would
    continue a network trained on other patients. One flipped label in either cohort is a new
    recipe; the same data resumes."""
    tr, ytr = _cohort(10, 0)
    va, yva = _cohort(6, 100)
    out = tmp_path / "m.pt"
    settings = Classify3DSettings(**SMALL, epochs=2)
    Classifier3D(settings, out, QUIET).fit(tr, ytr, val=(va, yva))
    more = Classify3DSettings(**SMALL, epochs=3)
    flipped_train, flipped_val = list(ytr), list(yva)
    flipped_train[0], flipped_val[0] = 1 - ytr[0], 1 - yva[0]
    for y_train, y_val in ((flipped_train, yva), (ytr, flipped_val)):
        log = Console(record=True, width=200)
        Classifier3D(more, tmp_path / "copy" / "m.pt", QUIET).fit(tr, ytr, val=(va, yva))
        again = Classifier3D(more, tmp_path / "copy" / "m.pt", log).fit(tr, y_train, val=(va, y_val))
        assert "different data; starting fresh" in log.export_text()
        assert [h["epoch"] for h in again.history_] == [1, 2, 3]
    log = Console(record=True, width=200)
    Classifier3D(more, out, log).fit(tr, ytr, val=(va, yva))
    assert "resuming after epoch 2" in log.export_text()


def test_weights_file_initialises_backbone_or_whole_and_rejects_a_mismatch(tmp_path):
    settings = Classify3DSettings(**SMALL)
    donor = build_network(settings.net_config(), seed=99)
    whole, body = tmp_path / "whole.pt", tmp_path / "body.pt"
    torch.save(donor.state_dict(), whole)
    backbone = {**donor.body.state_dict(), "classification_head.0.weight": torch.zeros(2, 32)}
    torch.save({"state_dict": backbone}, body)

    net = build_network(settings.net_config(), seed=1)
    head = net.head.weight.clone()
    assert "backbone; head random" in load_weights(net, body)
    assert all(torch.equal(v, donor.body.state_dict()[k]) for k, v in net.body.state_dict().items())
    assert torch.equal(net.head.weight, head) and not torch.equal(head, donor.head.weight)
    assert "whole classifier" in load_weights(net, whole)
    assert all(torch.equal(v, donor.state_dict()[k]) for k, v in net.state_dict().items())

    tr, ytr = _cohort(6, 0)
    clf = Classifier3D(Classify3DSettings(**{**SMALL, "weights": whole}, epochs=1), console=QUIET).fit(tr, ytr)
    assert clf.weights_.startswith("whole.pt (sha256 ") and clf.best_epoch_ == 1

    other = Classify3DSettings(**{**SMALL, "hidden_size": 16})
    with pytest.raises(ConfigError, match=r"whole\.pt: not weights of this vit.*wrong shape"):
        load_weights(build_network(other.net_config(), seed=1), whole)
    with pytest.raises(ConfigError, match="missing"):
        load_weights(build_network(Classify3DSettings(**{**SMALL, "depth": 2}).net_config(), 1), body)
    with pytest.raises(ConfigError, match="not found"):
        load_weights(net, tmp_path / "absent.pt")


def test_a_plain_monai_vit_loads_as_backbone_and_patches_embed_in_fp32(tmp_path):
    from monai.networks.nets import ViT

    plain = ViT(in_channels=1, img_size=32, patch_size=16, hidden_size=32, mlp_dim=64, num_layers=1,
                num_heads=2, classification=True, num_classes=2)  # with a head and class token
    torch.save(plain.state_dict(), tmp_path / "monai_vit.pt")
    net = build_network(Classify3DSettings(**SMALL).net_config(), seed=0)
    assert "backbone; head random" in load_weights(net, tmp_path / "monai_vit.pt")
    x = torch.randn(2, 1, 32, 32, 32)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        embedded = net.body.patch_embedding.patch_embeddings(x)
        logits = net(x)
    assert embedded.dtype == torch.float32  # see network.Fp32Conv3d
    torch.testing.assert_close(embedded, plain.patch_embedding.patch_embeddings(x))
    assert logits.dtype == torch.bfloat16  # the rest of the network does run in bf16


def test_settings_reject_bad_shapes_and_labels():
    with pytest.raises(ValueError, match="multiple of patch_size"):
        Classify3DSettings(input_size=40).net_config()
    with pytest.raises(ValueError, match="extra"):
        Classify3DSettings(dim=3)
    tr, _ = _cohort(4, 0)
    with pytest.raises(Exception, match="both classes"):
        Classifier3D(Classify3DSettings(**SMALL, epochs=1), console=QUIET).fit(tr, [1, 1, 1, 1])
