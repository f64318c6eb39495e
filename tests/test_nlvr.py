"""The NLVR1 loader: examples, six box orders per example, crops, re-renders and clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scotoma.types import ImageError
from scotoma.world.scenes.nlvr import (
    ENV_VAR,
    PERMUTATIONS,
    NLVRDataError,
    find_root,
    load_nlvr1,
    match_permutation,
)
from scotoma.world.scenes.render import render_box_array, render_strip_array
from scotoma.world.scenes.scene import Scene

REPS = [
    [
        [{"y_loc": 80, "type": "square", "color": "Yellow", "x_loc": 40, "size": 20}],
        [{"y_loc": 10, "type": "circle", "color": "#0099ff", "x_loc": 5, "size": 30}],
        [{"y_loc": 0, "type": "triangle", "color": "Black", "x_loc": 70, "size": 10}],
    ],
    [
        [{"y_loc": 50, "type": "triangle", "color": "Yellow", "x_loc": 20, "size": 20}],
        [{"y_loc": 70, "type": "square", "color": "Black", "x_loc": 70, "size": 30}],
        [
            {"y_loc": 1, "type": "circle", "color": "Black", "x_loc": 1, "size": 10},
            {"y_loc": 40, "type": "circle", "color": "Yellow", "x_loc": 40, "size": 20},
        ],
    ],
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A two-example NLVR1 folder in the corpus' layout, strips drawn by our renderer (RGBA, as shipped)."""
    split = tmp_path / "nlvr1" / "dev"
    lines = []
    for n, rep in enumerate(REPS):
        ident = f"{100 + n}-{n}"
        item = {"sentence": f"statement {n}", "label": ["true", "false"][n], "identifier": ident}
        lines.append(json.dumps({**item, "directory": str(n), "structured_rep": rep, "evals": {}}))
        folder = split / "images" / str(n)
        folder.mkdir(parents=True)
        scene = Scene.from_nlvr(rep)
        for k, order in enumerate(PERMUTATIONS):
            strip = render_strip_array(Scene(tuple(scene.boxes[i] for i in order)))
            rgba = np.dstack([strip, np.full(strip.shape[:2], 255, np.uint8)])
            Image.fromarray(rgba, "RGBA").save(folder / f"dev-{ident}-{k}.png")
    (split / "dev.json").write_text("\n".join(lines))  # no final newline, like the shipped file
    return tmp_path / "nlvr1"


def test_load_reads_examples_and_variants(corpus: Path):
    examples = load_nlvr1(corpus)
    assert [e.identifier for e in examples] == ["100-0", "101-1"]
    first, second = examples
    assert (first.sentence, first.label, second.label) == ("statement 0", True, False)
    assert first.scene == Scene.from_nlvr(REPS[0])
    assert first.strip_path(5).name == "dev-100-0-5.png"
    assert first.strip(2).width == 400
    for k, order in enumerate(PERMUTATIONS):
        crops = second.box_arrays(k)
        for crop, box in zip(crops, second.boxes_in_order(k), strict=True):
            np.testing.assert_array_equal(crop, render_box_array(box))
        assert second.boxes_in_order(k) == tuple(second.scene.boxes[i] for i in order)
        assert match_permutation(crops, second.scene) == order
    crops, renders = second.box_images(3), second.rendered_boxes(3)
    assert [c.sha256 for c in crops] == [r.sha256 for r in renders]  # same pixels, same encoder
    assert load_nlvr1(corpus / "dev")[0].identifier == "100-0"  # the split folder works too
    with pytest.raises(ValueError, match="variant k=6"):
        first.strip_path(6)


def test_permutation_zero_is_the_structured_order():
    assert PERMUTATIONS[0] == (0, 1, 2) and len(set(PERMUTATIONS)) == 6
    same = Scene.from_nlvr([REPS[0][0]] * 3)
    assert match_permutation([render_box_array(b) for b in same.boxes], same) is None  # boxes alike


def test_missing_data_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(NLVRDataError, match=f"{re.escape(str(tmp_path / 'absent'))}.*{ENV_VAR}"):
        load_nlvr1(tmp_path / "absent")
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "elsewhere"))
    with pytest.raises(NLVRDataError, match="elsewhere"):
        find_root()


def test_env_var_points_at_the_data(corpus: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(ENV_VAR, str(corpus))
    assert find_root() == corpus
    assert len(load_nlvr1()) == 2


def test_bad_files_name_themselves(corpus: Path):
    example = load_nlvr1(corpus)[0]
    example.strip_path(1).unlink()
    with pytest.raises(ImageError, match=re.escape("dev-100-0-1.png")):
        example.box_arrays(1)
    with pytest.raises(ImageError, match=re.escape("dev-100-0-1.png")):
        example.strip(1)
    example.strip_path(2).write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageError, match=re.escape("dev-100-0-2.png")):
        example.box_arrays(2)
    (corpus / "dev" / "dev.json").write_text('{"sentence": "no label"}\n')
    with pytest.raises(NLVRDataError, match=re.escape("dev.json:1")):
        load_nlvr1(corpus)


def test_shipped_dev_split(nlvr1_with_images):
    examples = nlvr1_with_images
    assert len(examples) == 989  # the corpus says 988; the file holds 989 lines (no final newline)
    first = examples[0]
    assert (first.identifier, first.label) == ("1572-0", True)
    assert first.sentence == "Each grey box contains atleast one yellow object touching the edge"
    for k in (0, 4):
        assert match_permutation(first.box_arrays(k), first.scene) == PERMUTATIONS[k]


def test_a_clone_without_shared_data_uses_the_dev_split_shipped_inside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A user's clone has no ../shared: bench nlvr1 still runs, on boxes rendered from dev.json."""
    import hashlib

    import scotoma.world.scenes.nlvr as nlvr
    from scotoma.bench.nlvr1 import load_nlvr1_items

    monkeypatch.delenv(ENV_VAR, raising=False)  # a clone with no NLVR checkout named
    assert find_root() == nlvr.PACKAGED
    examples = load_nlvr1()
    assert len(examples) == 989 and not examples[0].has_images
    items = load_nlvr1_items(None)[:3]
    assert [i.meta["images"] for i in items] == ["rendered"] * 3
    assert items[0].images[0].sha256 == examples[0].rendered_boxes(0)[0].sha256
    corpus = Path(__file__).resolve().parents[2] / "shared" / "data" / "nlvr1" / "dev" / "dev.json"
    if corpus.is_file():  # the shipped file is the corpus' own, byte for byte
        packaged = nlvr.PACKAGED / "dev" / "dev.json"
        assert hashlib.sha256(packaged.read_bytes()).digest() == hashlib.sha256(corpus.read_bytes()).digest()

    from typer.testing import CliRunner

    from scotoma.cli import app

    command = ["bench", "nlvr1", "--model", "scripted:yes", "--limit", "4", "--n-boot", "0", "--no-html"]
    result = CliRunner().invoke(app, [*command, "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "4 variants" in result.output
