import numpy as np
import pytest
import torch

from textgen import TrainConfig, TrainingError, prepare_data
from textgen.tokens import TokenStream, split_documents
from textgen.windows import PAD_TARGET, epoch_plan, group_windows, pieces, plan_groups

EOS = 0


def toy_stream(lengths=(3, 1, 7, 2, 12, 5)) -> TokenStream:
    """Documents whose tokens are distinct numbers (1, 2, 3, ...), so every target can be traced."""
    tokens, starts, next_id = [EOS], [0], 1
    for n in lengths:
        tokens += [*range(next_id, next_id + n), EOS]
        starts.append(len(tokens) - 1)
        next_id += n
    return TokenStream(np.array(tokens, dtype=np.int64), np.array(starts, dtype=np.int64))


def test_stream_marks_where_each_document_starts():
    stream = toy_stream((3, 1))
    assert stream.tokens.tolist() == [EOS, 1, 2, 3, EOS, 4, EOS]
    assert stream.starts.tolist() == [0, 4, 6]
    assert stream.num_documents == 2 and stream.num_targets == 6  # each document's tokens and its end


def all_targets(stream, all_pieces, groups, seq_len):
    """Every scored target, in the order the windows give them."""
    seen = []
    for group in groups:
        for window in group_windows(stream, all_pieces[group], seq_len, pad_id=EOS):
            seen += [t for t in window.targets.flatten().tolist() if t != PAD_TARGET]
    return seen


@pytest.mark.parametrize("max_piece", [None, 4, 5])
def test_every_target_is_trained_exactly_once(max_piece):
    stream = toy_stream()
    all_pieces = pieces(stream, max_piece)
    assert all_pieces.lengths.sum() == stream.num_targets
    if max_piece:
        assert all_pieces.lengths.max() <= max_piece
    groups = plan_groups(all_pieces.lengths, tokens_per_step=16, seq_len=4, rng=np.random.default_rng(0))
    targets = all_targets(stream, all_pieces, groups, seq_len=4)
    expected = stream.tokens[1:].tolist()
    assert sorted(targets) == sorted(expected)  # every token and every document's end, once each


def test_rows_start_documents_from_eos_and_padding_is_not_scored():
    stream = toy_stream()
    all_pieces = pieces(stream)  # whole documents
    groups = plan_groups(all_pieces.lengths, tokens_per_step=16, seq_len=4)
    for group in groups:
        windows = list(group_windows(stream, all_pieces[group], 4, pad_id=EOS))
        assert [w.fresh for w in windows] == [True] + [False] * (len(windows) - 1)
        assert (windows[0].inputs[:, 0] == EOS).all()  # a row starts where the sampler starts
        inputs = torch.cat([w.inputs for w in windows], dim=1)
        targets = torch.cat([w.targets for w in windows], dim=1)
        for row_inputs, row_targets in zip(inputs, targets):
            scored = row_targets != PAD_TARGET
            n = int(scored.sum())
            assert scored[:n].all() and not scored[n:].any()  # padding only at the end
            assert torch.equal(row_targets[: n - 1], row_inputs[1:n])  # targets are inputs shifted by one
            assert row_targets[n - 1] == EOS  # each document's last target is its end
            assert not (row_inputs[1:n] == EOS).any()  # a row never runs into another document


def test_groups_keep_similar_lengths_and_the_step_size():
    lengths = np.array([40, 41, 39, 300, 310, 5, 6, 42, 38, 295])
    groups = plan_groups(lengths, tokens_per_step=128, seq_len=64)
    assert sorted(np.concatenate(list(groups)).tolist()) == list(range(len(lengths)))
    for group in groups:
        width = min(-(-int(lengths[group].max()) // 8) * 8, 64)
        assert len(group) * width <= 128 or len(group) == 1
    longest = next(iter(groups))
    assert set(lengths[longest]) <= {300, 310, 295}  # the long pieces share a group: little padding


def test_the_number_of_steps_is_the_same_every_epoch_and_groups_change():
    lengths = np.random.default_rng(1).integers(1, 200, size=300)
    plans = [plan_groups(lengths, 512, 64, np.random.default_rng([0, epoch])) for epoch in range(3)]
    counts = {plan.num_windows(64) for plan in plans}
    assert len(counts) == 1
    assert [g.tolist() for g in plans[0]] != [g.tolist() for g in plans[1]]
    again = plan_groups(lengths, 512, 64, np.random.default_rng([0, 0]))
    assert [g.tolist() for g in again] == [g.tolist() for g in plans[0]]  # fixed by (seed, epoch)


def test_split_by_document_is_fixed_by_seed_and_disjoint():
    documents = [f"doc {i}" for i in range(100)]
    train, val = split_documents(documents, 0.1, seed=3)
    assert len(val) == 10 and len(train) == 90
    assert not set(train) & set(val)
    assert split_documents(documents, 0.1, seed=3) == (train, val)
    assert split_documents(documents, 0.1, seed=4)[1] != val


def test_too_small_corpus_names_the_minimum():
    config = TrainConfig(batch_size=8, seq_len=32)
    with pytest.raises(TrainingError, match=r"needs at least 264 characters"):
        prepare_data(["tiny text", "another tiny text", "third"], config)
    with pytest.raises(TrainingError, match="too small to train on: 8 characters, too few to hold some out"):
        prepare_data(["only one"], config)


def test_windows_read_from_a_memory_mapped_token_file_are_those_read_from_memory(tmp_path):
    """Training maps its token file (nanoGPT's train.bin) and reads each window's stretch of each piece:
    the same windows as from memory, also after the file is mapped afresh for an epoch."""
    stream = toy_stream((3, 1, 70, 2, 129, 5))
    path = tmp_path / "tokens.bin"
    stream.tokens.astype(np.uint16).tofile(path)
    mapped = TokenStream(np.memmap(path, np.uint16, "r", shape=stream.tokens.shape), stream.starts)
    all_pieces = pieces(stream, max_piece=64)
    for on_disk in (mapped, mapped.reopened()):
        assert isinstance(on_disk.tokens, np.memmap) and on_disk.tokens is not stream.tokens
        for group in plan_groups(all_pieces.lengths, 4 * 16, 16):
            chosen = all_pieces[group]
            for memory, disk in zip(
                group_windows(stream, chosen, 16, EOS), group_windows(on_disk, chosen, 16, EOS)
            ):
                assert torch.equal(memory.inputs, disk.inputs) and torch.equal(memory.targets, disk.targets)
                assert memory.fresh == disk.fresh
    subset = mapped.subset(np.array([4, 0]))
    assert subset.tokens.tolist() == [EOS, *range(77, 77 + 129), EOS, 1, 2, 3, EOS]
    assert subset.starts.tolist() == [0, 130, 134]


def test_an_epoch_plan_deals_groups_round_and_every_process_takes_as_many_windows():
    lengths = np.random.default_rng(4).integers(1, 300, size=500)
    whole, windows = epoch_plan(lengths, 512, 64, seed=1, epoch=2)
    assert windows == whole.num_windows(64)
    shares = [epoch_plan(lengths, 512, 64, seed=1, epoch=2, rank=rank, world=2) for rank in range(2)]
    assert shares[0][1] == shares[1][1] == min(share.num_windows(64) for share, _ in shares)
    dealt = sorted(g.tolist() for share, _ in shares for g in share)
    assert dealt == sorted(g.tolist() for g in whole)  # every group once, on one process


def test_the_held_out_mask_is_the_split_of_split_documents():
    from textgen.tokens import held_out_mask

    documents = [f"doc {i}" for i in range(1000)]
    for seed in (0, 1, 7):
        train, val = split_documents(documents, 0.1, seed)
        mask = held_out_mask(len(documents), 0.1, seed)
        assert [d for d, out in zip(documents, mask) if out] == val and len(val) == 100
    # The order Python's shuffle gives a list is the one it gives the array (the split of earlier runs).
    import random

    order = list(range(1000))
    random.Random(3).shuffle(order)
    mask = held_out_mask(1000, 0.1, 3)
    assert set(np.flatnonzero(mask).tolist()) == set(order[:100])


def test_pieces_are_the_documents_cut_every_max_piece_targets():
    """Against the plain definition: each document in turn, cut every `max_piece` targets. Piece i is
    document i's first stretch; the further stretches of the long documents follow in stream order."""
    rng = np.random.default_rng(1)
    for trial in range(300):
        lengths = rng.integers(1, [3, 40, 300][trial % 3], int(rng.integers(1, 40)))
        starts = np.concatenate([[0], np.cumsum(lengths)])
        stream = TokenStream(np.zeros(int(starts[-1]) + 1, dtype=np.int64), starts)
        for max_piece in (None, 1, 7, 64):
            stretches = [
                [
                    (int(start) + cut, min(max_piece or length, int(length) - cut))
                    for cut in range(0, int(length), max_piece or int(length))
                ]
                for start, length in zip(starts[:-1], lengths)
            ]
            expected = [first for first, *_ in stretches] + [more for _, *rest in stretches for more in rest]
            got = pieces(stream, max_piece)
            assert list(zip(got.offsets.tolist(), got.lengths.tolist())) == expected
            index = rng.integers(0, len(expected), 20)
            chosen = got[index]
            assert list(zip(chosen.offsets.tolist(), chosen.lengths.tolist())) == [expected[i] for i in index]


def test_a_plan_is_longest_first_and_a_generator_shuffles_equal_lengths():
    rng = np.random.default_rng(2)
    for trial in range(200):
        lengths = rng.integers(1, [3, 40, 2000][trial % 3], int(rng.integers(1, 3000)))
        plain = plan_groups(lengths, 512, 64)
        assert np.array_equal(plain.order, np.argsort(-lengths, kind="stable"))  # ties in document order
        seed = int(rng.integers(2**30))
        shuffled = plan_groups(lengths, 512, 64, np.random.default_rng(seed))
        assert sorted(shuffled.order.tolist()) == list(range(len(lengths)))
        assert (np.diff(lengths[shuffled.order]) <= 0).all()  # longest first
        again = plan_groups(lengths, 512, 64, np.random.default_rng(seed))
        assert [g.tolist() for g in again] == [g.tolist() for g in shuffled]  # fixed by the seed
    ties = np.full(1000, 5)
    assert not np.array_equal(
        plan_groups(ties, 512, 64, np.random.default_rng(0)).order,
        plan_groups(ties, 512, 64, np.random.default_rng(1)).order,
    )
