"""`run_probe` end to end with scripted models (zero-shot and ConMe need no training): run directory,
metrics, HTML summary, resume; and the same on a folder of real images with a VLM judge."""

import json

from PIL import Image

from scotoma.judge.verifiers import CRITERIA
from scotoma.models import ScriptedModel
from scotoma.models.embed import HashingEmbedder
from scotoma.probe.baselines import failure_rows, world_question_corpus
from scotoma.probe.config import ProbeConfig
from scotoma.probe.run import probe_command, run_probe

FIRST = "<response_1>Is there a blue circle?</response_1><response_2>How many squares are there?</response_2>"
SECOND = (
    "<response_1>How many circles are there?</response_1><response_2>Is there a yellow triangle?</response_2>"
)


def questioner(conversation):
    """Turn 1 asks FIRST; ConMe's second turn (after an assistant turn) asks SECOND."""
    return SECOND if any(m.role == "assistant" for m in conversation.messages) else FIRST


def config(tmp_path, **changes):
    base = {
        "questioner": "scripted:q",
        "answerer": "scripted:a",
        "methods": ["zero_shot", "conme"],
        "world_samples": 6,
        "eval_generations": 2,
        "batch_size": 4,
        "min_skill_questions": 1,
        "cache": str(tmp_path / "cache.sqlite"),
    }
    return ProbeConfig(**{**base, **changes})


def test_zero_shot_and_conme_run_and_resume(tmp_path):
    models = {"scripted:q": ScriptedModel(questioner), "scripted:a": ScriptedModel("no")}
    result = run_probe(
        config(tmp_path), tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True
    )
    metrics = result.metrics
    assert set(metrics["methods"]) == {"zero_shot", "conme", "conme_turn1"}
    zero = metrics["methods"]["zero_shot"]
    assert zero["questions"] == 6 * 2 * 2 and zero["judged"] == 24
    records = [json.loads(line) for line in (result.out_dir / "records.jsonl").read_text().splitlines()]
    by_method = {m: [r for r in records if r["method"] == m] for m in ("zero_shot", "conme", "conme_turn1")}
    assert {len(rs) for rs in by_method.values()} == {24}
    assert {r["question"] for r in by_method["conme"]} == {
        "How many circles are there?",
        "Is there a yellow triangle?",
    }
    # the metrics are those of the records: FDR = failures / valid questions
    valid = [r for r in by_method["zero_shot"] if r["valid"]]
    assert zero["fdr"] == sum(r["failed"] for r in valid) / len(valid)
    assert zero["lexical_diversity"] == 1.0  # two prefixes, equally often
    # ConMe's second turn saw the first turn's questions and the target's answers
    follow_up = next(c for c in models["scripted:q"].seen if len(c.messages) == 3)
    assert "Question 1: Is there a blue circle?\nAnswer: no" in follow_up.messages[-1].text
    assert metrics["fdr_curves"]["zero_shot"][-1][1] == zero["fdr"]
    html = (result.out_dir / "summary.html").read_text()
    assert "<table>" in html and "zero_shot" in html and "data:image/png;base64," in html and "<svg" in html
    saved = json.loads((result.out_dir / "metrics.json").read_text())
    assert saved["methods"]["conme"]["questions"] == 24 and saved["main_method"] == "zero_shot"
    # resume: nothing is asked again
    calls = models["scripted:q"].calls
    again = run_probe(
        config(tmp_path), tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True
    )
    assert models["scripted:q"].calls == calls and again.metrics["methods"] == metrics["methods"]


def test_methods_can_be_added_to_a_finished_run(tmp_path):
    models = {"scripted:q": ScriptedModel(questioner), "scripted:a": ScriptedModel("no")}
    quiet = {"models": models, "embedder": HashingEmbedder(), "quiet": True}
    first = run_probe(config(tmp_path, methods=["zero_shot"]), tmp_path / "run", **quiet)
    assert set(first.metrics["methods"]) == {"zero_shot"}
    calls = models["scripted:q"].calls
    both = run_probe(config(tmp_path, methods=["zero_shot", "conme"]), tmp_path / "run", **quiet)
    assert set(both.metrics["methods"]) == {"zero_shot", "conme", "conme_turn1"}
    assert both.metrics["methods"]["zero_shot"] == first.metrics["methods"]["zero_shot"]
    # only ConMe asked: its first turn (one call) and its second turn (one call); zero-shot was not redone
    assert models["scripted:q"].calls == calls + 2
    spec = json.loads((tmp_path / "run" / "spec.json").read_text())
    assert "methods" not in spec["config"] and spec["config"]["k"] == 2
    # asking for one method again summarises the whole run, not that method alone
    again = run_probe(config(tmp_path, methods=["conme"]), tmp_path / "run", **quiet)
    assert models["scripted:q"].calls == calls + 2
    assert again.metrics["methods"] == both.metrics["methods"] and again.metrics["main_method"] == "zero_shot"
    assert set(again.metrics["seconds_per_method"]) == {"zero_shot", "conme"}


def test_folder_of_images_with_a_judge(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, color in (("a.png", "red"), ("b.png", "green")):
        Image.new("RGB", (40, 30), color).save(folder / name)
    verdict = {c: {"ok": True, "why": "ok"} for c in CRITERIA}
    verdict |= {"reference_answer": "x", "answer_correct": {"ok": False, "why": "wrong"}, "skills": ["color"]}
    models = {
        "scripted:q": ScriptedModel(FIRST),
        "scripted:a": ScriptedModel("no"),
        "scripted:judge": ScriptedModel("I looked.\n" + json.dumps(verdict)),
    }
    settings = config(tmp_path, images=str(folder), verifier="judge:scripted:judge", methods=["zero_shot"])
    result = run_probe(settings, tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True)
    zero = result.metrics["methods"]["zero_shot"]
    assert zero["questions"] == 8 and zero["fdr"] == 1.0 and zero["skill_counts"] == {"color": 8}
    assert result.metrics["verifier"] == "judge:scripted:judge"


def test_probe_command_reads_yaml(tmp_path, monkeypatch):
    path = tmp_path / "probe.yaml"
    path.write_text("methods: [zero_shot]\nworld_samples: 2\neval_generations: 1\nembedder: hashing\n")

    def fake_get_model(spec):
        return ScriptedModel(FIRST if spec == "scripted:q" else "no", spec=spec)

    monkeypatch.setattr("scotoma.probe.context.get_model", fake_get_model)
    result = probe_command(
        questioner="scripted:q",
        answerer="scripted:a",
        config=path,
        out=tmp_path / "out",
        overrides=[f"cache={tmp_path / 'c.sqlite'}", "k=1"],
    )
    assert result.metrics["k"] == 1 and result.metrics["methods"]["zero_shot"]["questions"] == 2


def test_world_corpus_and_failure_rows():
    corpus = world_question_corpus(4, k=2, seed=0)
    assert len(corpus) == 4 and all(len(qs) == 2 for _, qs in corpus)
    records = [
        {"sample": "s", "generation": 0, "question": "A?", "valid": True, "failed": True},
        {"sample": "s", "generation": 0, "question": "B?", "valid": True, "failed": False},
        {"sample": "s", "generation": 1, "question": "C?", "valid": True, "failed": True},
        {"sample": "t", "generation": 0, "question": "D?", "valid": False, "failed": False},
        {"sample": "s", "generation": 2, "question": "A?", "valid": True, "failed": True},  # a repeat
        {"sample": "s", "generation": 2, "question": "E?", "valid": True, "failed": True},
        {"sample": "u", "generation": 0, "question": "F?", "valid": True, "failed": True},
    ]
    # s's distinct failures A, C, E: one row of k=2, E left over; u's single failure makes no row
    assert failure_rows(records, k=2) == [("s", ["A?", "C?"])]
    assert failure_rows(records, k=1) == [("s", ["A?"]), ("s", ["C?"]), ("s", ["E?"]), ("u", ["F?"])]


class FlakyAnswerer(ScriptedModel):
    """Answers "yes", except that its calls fail while `down` holds the number of calls left to fail."""

    def __init__(self, down: int) -> None:
        super().__init__("yes", spec="scripted:a")
        self.down = down

    def generate(self, conversations, config):
        from scotoma.types import Completion

        if self.down > 0:
            self.down -= 1
            return [Completion("", finish_reason="error", error="HTTP 503: overloaded")] * (
                len(conversations) * config.n
            )
        return super().generate(conversations, config)


def test_a_failed_answerer_call_is_left_out_and_retried_not_counted_as_a_failure(tmp_path):
    import pytest

    from scotoma.models import ModelError

    settings = config(tmp_path, methods=["zero_shot"], cache=None)
    models = {"scripted:q": ScriptedModel(questioner, spec="scripted:q")}
    quiet = {"embedder": HashingEmbedder(), "quiet": True}
    with pytest.raises(ModelError, match=r"every call to the answerer failed \(6 samples\).*HTTP 503"):
        run_probe(settings, tmp_path / "down", models={**models, "scripted:a": FlakyAnswerer(99)}, **quiet)
    assert not (tmp_path / "down").exists()  # nothing was learnt: no run is left behind

    # the first of two batches (4 of 6 samples) fails: the other two are scored, the four left out
    first = run_probe(settings, tmp_path / "run", models={**models, "scripted:a": FlakyAnswerer(1)}, **quiet)
    assert first.metrics["answerer_failures"] == {
        "samples_left_out": 4,
        "first_error": "HTTP 503: overloaded",
    }
    samples = {r["sample"] for r in map(json.loads, (tmp_path / "run" / "records.jsonl").open())}
    assert len(samples) == 2
    again = run_probe(settings, tmp_path / "run", models={**models, "scripted:a": FlakyAnswerer(0)}, **quiet)
    assert again.metrics["answerer_failures"]["samples_left_out"] == 0
    samples = {r["sample"] for r in map(json.loads, (tmp_path / "run" / "records.jsonl").open())}
    assert len(samples) == 6  # the re-run asked the four again


def test_summary_html_numbers_images_defines_columns_and_shows_each_failure_once(tmp_path):
    import re
    from html import unescape

    from scotoma.probe.context import load_samples
    from scotoma.probe.summary import COLUMNS, example_identity

    models = {"scripted:q": ScriptedModel(questioner), "scripted:a": ScriptedModel("no")}
    settings = config(tmp_path)
    result = run_probe(settings, tmp_path / "run", models=models, embedder=HashingEmbedder(), quiet=True)
    page = (result.out_dir / "summary.html").read_text()
    records = {r["key"]: r for r in map(json.loads, (result.out_dir / "records.jsonl").open())}
    images = {s.key: len(s.images) for s in load_samples(settings)}

    # every example's thumbnails are captioned image 1..n, as the questions number them
    rows = re.findall(r"<tr data-key='([^']+)'>(.*?)</tr>", page, re.S)
    assert rows and max(images.values()) > 1
    for key, row in rows:
        captions = re.findall(r"<figcaption>(image \d+)</figcaption>", row)
        assert captions == [f"image {n}" for n in range(1, images[records[key]["sample"]] + 1)]
    # each failure once, though several of the listed skills need the same failed questions
    shown = [example_identity(records[key]) for key, _ in rows]
    assert len(shown) == len(set(shown))
    listed = [e["skill"] for e in result.metrics["top_failing_skills"]]
    main = [r for r in records.values() if r["method"] == "zero_shot" and r["failed"]]
    assert any(len(set(listed) & set(r["skills"])) > 1 for r in main)  # so repeats were possible

    # every column has a tooltip and a visible definition; "# Skills" names the run's threshold
    for _, title, _ in COLUMNS:
        assert re.search(rf'<th title="[^"]+">{re.escape(title)}</th>', page)
        assert re.search(rf"<dt>{re.escape(title)}</dt><dd>[^<]+</dd>", page)
    assert "<dt># Skills</dt><dd>skills needed by more than 1 valid questions</dd>" in page

    # the per-skill table against counts by hand (zero_shot is the first method group)
    table = page[page.index('<table id="per-skill"') :].split("</table>")[0]
    zero = [r for r in records.values() if r["method"] == "zero_shot"]
    for skill in {s for r in zero for s in r["skills"]}:
        need = [r for r in zero if skill in r["skills"]]
        good = [r for r in need if r["valid"]]
        failed = sum(r["failed"] for r in good)
        cells = [len(need), len(good), failed, f"{100 * failed / len(good):.1f}" if good else "-"]
        assert f"<tr><td>{skill}</td>" + "".join(f"<td>{c}</td>" for c in cells) in table

    # the FDR chart has labelled ticks on both axes, in percent
    chart = page[page.index('data-chart="fdr-curve"') :].split("</svg>")[0]
    assert chart.count('class="tick"') >= 3 and 'text-anchor="end">100</text>' in chart

    # exclusive: counted over every listed method, so no other method asks the skill as often
    counts = {m: v["skill_counts"] for m, v in result.metrics["methods"].items()}
    for method, skills in result.metrics["exclusive_skills"].items():
        assert set(result.metrics["exclusive_skills"]) == set(counts)
        for skill in skills:
            assert all(c.get(skill, 0) <= 1 for other, c in counts.items() if other != method)
    assert "1 or fewer of every other method" in unescape(page)


def test_exclusive_skills_say_how_often_the_others_ask_them():
    from scotoma.probe.summary_html import exclusive_html

    metrics = {
        "min_skill_questions": 20,
        "methods": {
            "rl": {"skill_counts": {"spatial:tower": 31, "counting": 40}},
            "zero_shot": {"skill_counts": {"spatial:tower": 12, "counting": 44}},
        },
        "exclusive_skills": {"rl": ["spatial:tower"], "zero_shot": []},
    }
    html = exclusive_html(metrics)
    assert "<li>rl: spatial:tower (31; zero_shot 12)</li><li>zero_shot: none</li>" in html
    assert "more than 20 of that method" in html and "20 or fewer of every other method" in html
