import pytest
import torch

from textgen.batches import batchify, bptt_windows, num_windows, split_documents
from textgen.training import TrainConfig, TrainingError, prepare_data


def test_batchify_rows_are_contiguous_slices_of_the_stream():
    stream = torch.arange(26)
    rows = batchify(stream, 4)
    assert rows.shape == (4, 6)  # 24 tokens used, the ragged tail of 2 dropped
    assert rows[1].tolist() == list(range(6, 12))


def test_bptt_windows_shift_targets_and_cover_every_position_once():
    rows = batchify(torch.arange(40), 4)  # 4 rows of 10
    windows = list(bptt_windows(rows, 3))
    assert len(windows) == num_windows(rows, 3) == 3
    for inputs, targets in windows:
        assert torch.equal(targets, inputs + 1)
    # Window k starts where window k-1 ended, so a carried state sees an unbroken row.
    assert windows[1][0][:, 0].tolist() == (windows[0][0][:, -1] + 1).tolist()
    predicted = torch.cat([t for _, t in windows], dim=1)
    assert torch.equal(predicted, rows[:, 1:])


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
    with pytest.raises(TrainingError, match="at least 2 documents"):
        prepare_data(["only one"], config)
