"""The small-data regularisers (AWD-LSTM's): on in training only, never in what a model saves."""

import math

import torch

from textgen import (
    Evaluation,
    Finished,
    LSTMConfig,
    LSTMLanguageModel,
    TrainConfig,
    Trainer,
    load_folder,
    prepare_data,
    run_and_save,
)
from textgen.model import Regularization

DOCUMENTS = [f"the cat {i % 7} sat on the mat number {i}" for i in range(200)]


def tiny_model(dropout: float = 0.0, **regularization) -> LSTMLanguageModel:
    torch.manual_seed(0)
    model = LSTMLanguageModel(
        LSTMConfig(vocab_size=30, embedding_dim=16, hidden_size=24, num_layers=2, dropout=dropout)
    )
    model.regularization = Regularization(**regularization)
    return model


def test_weight_drop_masks_the_recurrent_weights_per_batch_and_leaves_them_whole():
    model = tiny_model(weight_drop=0.5)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    tokens = torch.randint(0, 30, (4, 12))
    model.train()
    first, second = model(tokens)[0], model(tokens)[0]
    assert not torch.allclose(first, second)  # a fresh mask each call
    first.sum().backward()
    assert model.lstm.weight_hh_l1.grad is not None and model.lstm.weight_hh_l1.grad.abs().sum() > 0
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters())  # masks are not kept
    model.eval()
    plain = tiny_model()
    plain.eval()
    assert torch.equal(model(tokens)[0], plain(tokens)[0])  # off at inference: the plain model's output


def test_locked_dropout_uses_one_mask_for_every_time_step():
    model = tiny_model(dropout=0.5, locked=True)
    model.train()
    x = torch.ones(3, 10, 8)
    dropped = model._drop(x, locked=True)
    assert torch.equal(dropped, dropped[:, :1].expand_as(dropped))  # the same across time
    assert not torch.equal(dropped[0], dropped[1]) or not torch.equal(
        dropped[1], dropped[2]
    )  # but not across rows
    assert set(dropped.unique().tolist()) <= {0.0, 2.0}
    unlocked = model._drop(torch.ones(3, 200, 8), locked=False)
    assert not torch.equal(unlocked, unlocked[:, :1].expand_as(unlocked))


def test_embedding_dropout_drops_whole_tokens_everywhere_in_a_batch():
    model = tiny_model(embedding_dropout=0.5)
    model.train()
    seen = []
    model.lstm.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
    tokens = torch.tensor([[1, 2, 1, 2, 1, 2]])
    torch.manual_seed(3)
    for _ in range(20):
        model(tokens)
    for embedded in seen:
        ones, twos = embedded[0, ::2], embedded[0, 1::2]
        assert torch.equal(ones, ones[:1].expand_as(ones)) and torch.equal(twos, twos[:1].expand_as(twos))
    assert any(embedded[0, 0].abs().sum() == 0 for embedded in seen)  # some batches drop token 1 entirely


def test_a_run_with_every_regulariser_and_ema_saves_the_averaged_weights_and_loads_plain(tmp_path):
    config = TrainConfig(
        hidden_size=32, batch_size=8, seq_len=16, epochs=1, max_steps=40, eval_every=20, sample_length=10,
        weight_drop=0.3, embedding_dropout=0.1, locked_dropout=True, dropout=0.2,
        activation_reg=2.0, temporal_reg=1.0, ema=0.9,
    )  # fmt: skip
    data = prepare_data(DOCUMENTS, config)
    trainer = Trainer(config, data)
    best = None
    for event in run_and_save(trainer, tmp_path / "m"):
        if isinstance(event, Evaluation) and event.is_best:
            averaged, raw = trainer.evaluated.state_dict(), trainer.model.state_dict()
            assert any(not torch.equal(averaged[k], raw[k]) for k in raw)  # scored: the average, not the raw
            best = {k: v.detach().clone() for k, v in averaged.items()}
    assert isinstance(event, Finished) and best is not None
    loaded = load_folder(tmp_path / "m")
    assert loaded.model.regularization == Regularization()  # nothing of training's regularisers is kept
    saved = loaded.model.state_dict()
    assert all(torch.allclose(saved[k], best[k].float()) for k in saved)  # the best evaluation's average
    assert math.isfinite(event.best.bits_per_char)


def test_the_moving_average_warms_up_then_holds_its_decay():
    from textgen.training import ema_average

    average, old, new = ema_average(0.99), torch.zeros(3), torch.ones(3)
    assert torch.allclose(average(old, new, torch.tensor(0)), torch.full((3,), 0.9))  # early: mostly the new
    assert torch.allclose(average(old, new, torch.tensor(10_000)), torch.full((3,), 0.01))  # later: 0.99


def test_the_card_names_the_regularisers_a_run_used():
    from textgen.card import regularisation
    from textgen.sizing import PACK_ON

    assert regularisation({"dropout": 0.5, **PACK_ON}) == (
        "dropout 0.5, DropConnect 0.3 on the recurrent weights, embedding dropout 0.1, locked dropout, "
        "AR 2 / TAR 1, weight decay 0.1, weights averaged (EMA 0.99), the average kept"
    )
    assert (
        regularisation({"dropout": 0.1, "weight_decay": 0.01}) == "dropout 0.1, weight decay 0.01"
    )  # before the pack
