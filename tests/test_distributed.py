"""process_rank: the process group's rank, else the launcher's RANK variable, else 0; torch not imported."""

import subprocess
import sys

from scotoma.distributed import process_group, process_rank


def test_without_a_process_group_the_launcher_variable_decides(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    assert process_rank() == 0 and process_group() is None
    monkeypatch.setenv("RANK", "3")  # torchrun sets it before the training script starts a group
    assert process_rank() == 3


def test_a_running_process_group_decides(monkeypatch, tmp_path):
    import torch.distributed as dist

    monkeypatch.setenv("RANK", "5")
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        assert process_group() is dist and process_rank() == 0
    finally:
        dist.destroy_process_group()
    assert process_rank() == 5


def test_asking_does_not_import_torch():
    code = "import sys; from scotoma.distributed import process_rank as r; r(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
