"""Run directories: spec, append-only records, atomic metrics, resume, and real SIGKILL survival."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from scotoma.runlog import RunDir, RunDirError, git_commit, package_versions, pending, to_jsonable
from scotoma.types import Completion, GenConfig


def records_for(keys):
    return [{"key": k, "value": int(k[1:]) ** 2} for k in keys]


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_spec_holds_request_versions_and_git(tmp_path):
    config = {"model": "scripted:yes", "gen": GenConfig(n=2), "path": tmp_path / "x", "stops": ("a",)}
    with RunDir.open(tmp_path / "run", "bench demo", config, seed=7) as run:
        spec = json.loads((run.path / "spec.json").read_text())
    assert spec["command"] == "bench demo"
    assert spec["seed"] == 7
    assert spec["config"]["gen"] == GenConfig(n=2).to_dict()
    assert spec["config"]["path"] == str(tmp_path / "x")
    assert spec["config"]["stops"] == ["a"]
    assert spec["versions"]["python"] == platform.python_version()
    assert spec["versions"]["scotoma"] == "0.1.0"
    assert {"torch", "transformers", "trl", "peft"} <= set(spec["versions"])
    assert "git" in spec and "started_at" in spec
    # the same request, with tuples, dataclasses and paths again, resumes rather than clashing
    with RunDir.open(tmp_path / "run", "bench demo", dict(config), seed=7) as run:
        assert run.spec == spec


def test_package_versions_does_not_import_torch():
    code = "import sys; from scotoma.runlog import package_versions as p; p(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    assert "torch" in package_versions()


def test_git_commit_outside_a_repo_is_none(tmp_path):
    assert git_commit(tmp_path) is None


def test_git_commit_inside_a_repo(tmp_path):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    try:
        subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
        (tmp_path / "f").write_text("1")
        subprocess.run(["git", "add", "f"], cwd=tmp_path, check=True)
        subprocess.run(["git", "commit", "-qm", "x"], cwd=tmp_path, check=True, env=env)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not usable here")
    found = git_commit(tmp_path)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True)
    assert found == {"commit": head.stdout.strip(), "dirty": False}
    (tmp_path / "f").write_text("2")
    assert git_commit(tmp_path)["dirty"] is True


def test_append_records_and_resume_skips_done(tmp_path):
    keys = [f"k{i}" for i in range(10)]
    with RunDir.open(tmp_path, "c", {"a": 1}, 0) as run:
        run.append(records_for(keys[:4]))
    with RunDir.open(tmp_path, "c", {"a": 1}, 0) as run:
        assert set(run.done) == set(keys[:4])
        todo = list(pending(keys, lambda k: k, run))
        assert todo == keys[4:]
        run.append(records_for(todo))
        assert [r["key"] for r in run.records()] == keys
        assert [r["value"] for r in run.records()] == [i * i for i in range(10)]
        assert len(run) == 10


def test_pending_is_lazy_and_yields_each_key_once(tmp_path):
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        run.append([{"key": "a"}])
        seen = []
        for item in pending(["a", "b", "b", "c", "a"], lambda k: k, run):
            seen.append(item)
            run.append([{"key": item}])  # appending while iterating is the normal pattern
        assert seen == ["b", "c"]


def test_duplicate_and_bad_keys_rejected_and_nothing_written(tmp_path):
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        run.append([{"key": "a"}])
        with pytest.raises(RunDirError, match="already in"):
            run.append([{"key": "b"}, {"key": "a"}])
        with pytest.raises(RunDirError, match="already in"):
            run.append([{"key": "c"}, {"key": "c"}])
        with pytest.raises(RunDirError, match="string 'key'"):
            run.append([{"key": 3}])
        with pytest.raises(RunDirError, match="string 'key'"):
            run.append([{"value": 1}])
        assert [r["key"] for r in run.records()] == ["a"]
        assert run.done == {"a"}


def test_records_serialize_dataclasses_via_to_dict(tmp_path):
    @dataclass
    class Plain:
        x: int

    with RunDir.open(tmp_path, "c", {}, 0) as run:
        run.append([{"key": "a", "completion": Completion("hi", finish_reason="length"), "p": Plain(2)}])
        (record,) = run.records()
    assert record["completion"] == Completion("hi", finish_reason="length").to_dict()
    assert record["p"] == {"x": 2}
    with pytest.raises(TypeError, match="to_dict"):
        to_jsonable(object())


def test_different_request_refused_unless_overwrite(tmp_path):
    with RunDir.open(tmp_path, "c", {"a": 1}, 0) as run:
        run.append([{"key": "a"}])
        run.write_metrics({"acc": 1.0})
    for command, config, seed, differ in [("d", {"a": 1}, 0, "command"), ("c", {"a": 2}, 0, "config")]:
        with pytest.raises(RunDirError, match=f"different {differ}.*overwrite=True"):
            RunDir.open(tmp_path, command, config, seed)
    with pytest.raises(RunDirError, match="different seed"):
        RunDir.open(tmp_path, "c", {"a": 1}, 1)
    with RunDir.open(tmp_path, "c", {"a": 2}, 1, overwrite=True) as run:
        assert len(run) == 0 and list(run.records()) == [] and run.read_metrics() is None
        assert run.spec["config"] == {"a": 2}
    assert json.loads((tmp_path / "spec.json").read_text())["seed"] == 1


def test_records_without_spec_are_not_deleted_silently(tmp_path):
    (tmp_path / "records.jsonl").write_text('{"key": "a"}\n')
    for overwrite in (False, True):  # --force included: scotoma removes only what it wrote
        with pytest.raises(RunDirError, match=r"no spec\.json"):
            RunDir.open(tmp_path, "c", {}, 0, overwrite=overwrite)
    assert (tmp_path / "records.jsonl").read_text() == '{"key": "a"}\n'


def test_a_users_folder_or_a_file_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "metrics.json").write_text("mine")
    (tmp_path / "file").write_text("mine")
    with pytest.raises(RunDirError, match="not a scotoma run directory"):
        RunDir.open(tmp_path / "mine", "c", {}, 0, overwrite=True)
    with pytest.raises(RunDirError, match="is a file"):
        RunDir.open(tmp_path / "file", "c", {}, 0)
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["metrics.json"]
    assert (tmp_path / "mine" / "metrics.json").read_text() == "mine"
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / ".rank1").mkdir()  # hidden entries are scotoma's own (other ranks, locks)
    RunDir.open(tmp_path / "hidden", "c", {}, 0).close()


def test_a_run_that_fails_before_its_first_record_is_taken_back(tmp_path):
    with pytest.raises(KeyError), RunDir.open(tmp_path / "a" / "run", "c", {}, 0):
        raise KeyError("the model did not load")
    assert not (tmp_path / "a" / "run").exists() and (tmp_path / "a").is_dir()  # only what it made

    (tmp_path / "empty").mkdir()
    with pytest.raises(KeyError), RunDir.open(tmp_path / "empty", "c", {}, 0):
        raise KeyError("again")
    assert (tmp_path / "empty").is_dir() and not any((tmp_path / "empty").iterdir())

    with pytest.raises(KeyError), RunDir.open(tmp_path / "wrote", "c", {}, 0) as run:
        run.append([{"key": "a"}])
        raise KeyError("after a record")
    assert (tmp_path / "wrote" / "spec.json").exists()  # resumable: kept

    with RunDir.open(tmp_path / "resumed", "c", {}, 0):
        pass
    with pytest.raises(KeyError), RunDir.open(tmp_path / "resumed", "c", {}, 0):
        raise KeyError("on resume")
    assert (tmp_path / "resumed" / "spec.json").exists()  # not started by this open: kept


@pytest.mark.parametrize(
    "spec",
    [
        "openai:gpt@http://127.0.0.1:9/v1?api_key=sk-123",
        "hf:some/model?token=hf_abc",
        "openai:gpt@https://user:pw@127.0.0.1/v1",
        "builtin:answerer?client_secret=x",
    ],
)
def test_a_config_with_a_credential_is_never_written(tmp_path, spec):
    with pytest.raises(RunDirError, match="secret"):
        RunDir.open(tmp_path / "run", "bench", {"model": spec}, 0)
    assert not (tmp_path / "run").exists()


def test_credentials_are_told_apart_from_their_names():
    from scotoma.credentials import find_credential

    assert find_credential("openai:gpt@http://h/v1?api_key_env=MY_KEY") is None  # names a variable
    assert find_credential("hf:Qwen/Qwen2.5-VL-3B-Instruct?max_pixels=200704&batch_size=8") is None
    assert find_credential("openai:gpt@https://api.openai.com/v1") is None
    assert find_credential("x?api_key=") is None  # empty: nothing to leak
    assert find_credential("x?max_tokens=3&max_new_tokens=4") is None  # counts of tokens
    assert find_credential("x?max_tokens=3&API_KEY=abc") == "option 'API_KEY'"


def test_metrics_written_atomically(tmp_path):
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        assert run.read_metrics() is None
        run.write_metrics({"acc": 0.5, "n": 4})
        run.write_metrics({"acc": 0.75, "n": 4})
        assert run.read_metrics() == {"acc": 0.75, "n": 4}
    # no temp files left behind next to the real ones
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".lock",
        "metrics.json",
        "records.jsonl",
        "spec.json",
    ]


def test_torn_last_line_truncated_on_open(tmp_path):
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        run.append(records_for(["k1", "k2"]))
    path = tmp_path / "records.jsonl"
    with open(path, "a") as f:
        f.write('{"key": "k3", "val')  # a kill in the middle of a write
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        assert run.done == {"k1", "k2"}
        run.append(records_for(["k3"]))
    assert [r["key"] for r in read_lines(path)] == ["k1", "k2", "k3"]


def test_whole_record_missing_only_its_newline_is_kept(tmp_path):
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        run.append(records_for(["k1"]))
    path = tmp_path / "records.jsonl"
    with open(path, "a") as f:
        f.write('{"key": "k2"}')
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        assert run.done == {"k1", "k2"}
        run.append(records_for(["k3"]))
    assert [r["key"] for r in read_lines(path)] == ["k1", "k2", "k3"]


def test_corrupt_middle_line_raises(tmp_path):
    with RunDir.open(tmp_path, "c", {}, 0):
        pass
    (tmp_path / "records.jsonl").write_text('{"key": "a"}\nnot json\n{"key": "b"}\n')
    with pytest.raises(RunDirError, match="line 2"):
        RunDir.open(tmp_path, "c", {}, 0)


WRITER = textwrap.dedent(
    """
    import sys
    from scotoma.runlog import RunDir
    run = RunDir.open(sys.argv[1], "kill test", {"n": 3000}, 0)
    keys = [f"k{i:06d}" for i in range(3000)]

    def write(batch):
        print(len(run), flush=True)  # the records fsynced so far (before this batch)
        return [{"key": key, "pad": "x" * 200} for key in batch], []

    run.todo(keys, lambda k: k).work(write, batch_size=7, label="kill test")
    """
)


def test_sigkill_loses_at_most_the_batch_in_flight_and_resume_completes(tmp_path):
    run_path = tmp_path / "run"
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(run_path)], stdout=subprocess.PIPE, text=True)
    reported = 0
    deadline = time.monotonic() + 60
    while reported < 300 and time.monotonic() < deadline:  # let it write a few dozen batches first
        line = child.stdout.readline()
        assert line, "writer exited early"
        reported = int(line)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL  # killed mid-run, not finished
    # everything the writer saw fsynced is there; at most one more batch beyond it
    for line in child.stdout:
        reported = max(reported, int(line))
    with RunDir.open(run_path, "kill test", {"n": 3000}, 0) as run:
        lines = (run_path / "records.jsonl").read_text().splitlines()
        parsed = [json.loads(line) for line in lines]  # every line parses after repair
        keys = [r["key"] for r in parsed]
        assert len(keys) == len(set(keys)) == len(run)
        assert reported <= len(keys) <= reported + 7 and len(keys) < 3000
        assert keys == [f"k{i:06d}" for i in range(len(keys))]  # a prefix, in order
    # the killed writer's lock died with it: a rerun resumes and finishes every record exactly once
    done = subprocess.run([sys.executable, "-c", WRITER, str(run_path)], capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with RunDir.open(run_path, "kill test", {"n": 3000}, 0) as run:
        keys = [r["key"] for r in run.records()]
    assert keys == [f"k{i:06d}" for i in range(3000)]


def test_second_process_cannot_write_the_same_run(tmp_path):
    code = "import sys; from scotoma.runlog import RunDir; RunDir.open(sys.argv[1], 'c', {}, 0)"
    with RunDir.open(tmp_path, "c", {}, 0):
        out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
        assert out.returncode != 0 and "another process" in out.stderr
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


class Crash(RuntimeError):
    pass


def squares_failing_on(bad: set[str], crash_at: str | None = None, seen: list[list[str]] | None = None):
    """Batch work: a record per key with its square, a failure message for keys in `bad`, and a crash
    when the batch holds `crash_at`."""

    def do(batch: list[str]) -> tuple[list[dict], list[str]]:
        if seen is not None:
            seen.append(list(batch))
        if crash_at in batch:
            raise Crash(crash_at)
        records = [{"key": k, "value": int(k[1:]) ** 2} for k in batch if k not in bad]
        return records, [f"{k} failed" for k in batch if k in bad]

    return do


def test_todo_work_resumes_after_a_crash_writing_only_the_missing_keys(tmp_path):
    keys = [f"k{i}" for i in range(10)]
    with RunDir.open(tmp_path, "c", {}, 0) as run, pytest.raises(Crash):
        run.todo(keys, lambda k: k).work(squares_failing_on(set(), crash_at="k7"), batch_size=3, label="t")
    batches: list[list[str]] = []
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        assert set(run.done) == {"k0", "k1", "k2", "k3", "k4", "k5"}  # the two batches before the crash
        todo = run.todo(keys, lambda k: k)
        assert (todo.items, todo.n_skipped) == (keys[6:], 6)
        todo.work(squares_failing_on(set(), seen=batches), batch_size=3, label="t")
        assert batches == [["k6", "k7", "k8"], ["k9"]]  # only the missing keys, in order
        assert [r["key"] for r in run.records()] == keys
        assert [r["value"] for r in run.records()] == [i * i for i in range(10)]
        assert (todo.n_failed, todo.first_error) == (0, None)


def test_todo_work_counts_failures_and_does_not_write_them(tmp_path):
    keys = ["k1", "k2", "k3", "k2", "k4", "k5"]  # k2 twice: asked once
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        todo = run.todo(keys, lambda k: k)
        assert len(todo) == 5 and todo.n_skipped == 1
        todo.work(squares_failing_on({"k2", "k5"}), batch_size=2, label="t")
        assert (todo.n_failed, todo.first_error) == (2, "k2 failed")
        assert [r["key"] for r in run.records()] == ["k1", "k3", "k4"]
    with RunDir.open(tmp_path, "c", {}, 0) as run:  # a re-run retries exactly the failed keys
        again = run.todo(keys, lambda k: k)
        assert again.items == ["k2", "k5"] and again.n_skipped == 4
        again.work(squares_failing_on(set()), batch_size=2, label="t")
        assert again.n_failed == 0 and [r["key"] for r in run.records()] == ["k1", "k3", "k4", "k2", "k5"]


def test_todo_with_nothing_left_calls_no_work_and_a_bad_batch_size_is_refused(tmp_path):
    with RunDir.open(tmp_path, "c", {}, 0) as run:
        run.append([{"key": "a"}])
        todo = run.todo(["a"], lambda k: k)
        assert not todo and todo.n_skipped == 1
        todo.work(squares_failing_on(set(), crash_at="a"), batch_size=4, label="t")  # never called
        with pytest.raises(ValueError, match="batch_size must be at least 1"):
            run.todo(["b"], lambda k: k).work(squares_failing_on(set()), batch_size=0, label="t")
