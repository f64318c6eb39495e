"""Load scotoma's exports with each consumer's own loading code, and print what each one loaded.

    python benchmarks/export_consumers.py --easyr1 PATH/TO/EasyR1     # a checkout of hiyouga/EasyR1
    python benchmarks/export_consumers.py --work DIR --skip-install   # reuse venvs made before

1. `scotoma synth visc` and `scotoma synth s2h --model builtin:answerer`, each with relative image paths
   (the default) and with `--absolute-paths`, into WORK/exports/{visc,visc_abs,s2h,s2h_abs}.
2. One throwaway venv per consumer under WORK (never the project's: their pins clash with ours), with
   torch==2.13.0 in the same pip command so no CUDA torch is pulled: LLaMA-Factory, ms-swift, and
   EasyR1's dataset dependencies (EasyR1 is not on PyPI; its `verl` package is imported from --easyr1).
   TRL runs in this interpreter: it is one of the project's own dependencies.
3. In each venv this file runs again with --check CONSUMER and loads every export file the way the
   consumer's docs say, with no download: the processor is builtin:answerer's (an Idefics3 folder
   shipped with scotoma), or for LLaMA-Factory, which has no Idefics3 template, a tiny random Qwen2-VL's
   built by `scotoma.models.tiny` (its qwen2_vl template):
   - TRL: `load_dataset("json")`, images cast to `Image()`, then the collators its trainers use for
     vision data (SFT, DPO) or the chat template and processor (GRPO prompts);
   - LLaMA-Factory: `dataset_dir` + the names in dataset_info.json through `get_dataset`, then the
     collators of its SFT and DPO workflows;
   - ms-swift: `load_dataset` and `template.encode` of every row (its idefics3 template);
   - EasyR1: `RLHFDataset` with prompt_key `problem` and `prompt` (`image_dir` for relative paths).
   Relative exports are read the way docs/exports.md says: TRL and ms-swift from the format's folder.
   Every file must load whole, and the encoded batches must hold as many images as the rows list.

Prints one line per (consumer, export file): rows in the file, rows loaded, images decoded, pass/fail.
Installing takes minutes and needs PyPI; this is not a test and no test runs it.
"""

from __future__ import annotations

import argparse
import importlib.machinery
import json
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ANSWERER = REPO / "src" / "scotoma" / "world_models" / "shipped" / "answerer"
TORCH = "torch==2.13.0"
# What each consumer's venv gets: the consumer pinned, and for EasyR1 what verl/utils/dataset.py imports
# (its requirements.txt pins transformers<5 and wants vLLM and flash-attn, which loading data never needs).
INSTALLS = {
    "llamafactory": ["llamafactory==0.9.5"],  # then without torchvision and torchaudio: see UNINSTALLS
    "ms-swift": ["ms-swift==4.6.0"],
    "easyr1": ["transformers>=4.54.0,<5.0.0", "datasets", "pillow", "jinja2", "pyyaml", "codetiming"],
}
# PyPI's torchvision and torchaudio do not load with CPU torch 2.13 (`torchvision::nms does not exist`),
# and a torchvision that fails to load breaks `import transformers`: LLaMA-Factory's venv goes without.
UNINSTALLS = {"llamafactory": ["torchvision", "torchaudio"]}
EXPORTS = {  # folder: scotoma synth arguments
    "visc": ["visc", "--n", "40"],
    "visc_abs": ["visc", "--n", "40", "--absolute-paths"],
    "s2h": ["s2h", "--n", "40", "--model", "builtin:answerer"],
    "s2h_abs": ["s2h", "--n", "40", "--model", "builtin:answerer", "--absolute-paths"],
}
BATCH = 4


# -- run in the consumer's venv --------------------------------------------------------------------------
def answerer_processor():
    """An Idefics3Processor from builtin:answerer's files, built part by part so that transformers 4.x
    (which cannot read a processor saved by transformers 5) builds the same one."""
    from transformers import Idefics3ImageProcessor, Idefics3Processor, PreTrainedTokenizerFast

    config = json.loads((ANSWERER / "processor_config.json").read_text())
    image_config = {k: v for k, v in config["image_processor"].items() if k != "image_processor_type"}
    special = json.loads((ANSWERER / "tokenizer_config.json").read_text())
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(ANSWERER / "tokenizer.json"),
        **{k: special[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token")},
        additional_special_tokens=special["extra_special_tokens"],
    )
    return Idefics3Processor(
        Idefics3ImageProcessor(**image_config),
        tokenizer,
        image_seq_len=config["image_seq_len"],
        chat_template=(ANSWERER / "chat_template.jinja").read_text(),
    )


def rows_in(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    return len(json.loads(text)) if path.suffix == ".json" else sum(1 for line in text.splitlines() if line)


def export_files(root: Path, fmt: str) -> list[tuple[str, Path]]:
    """(export set, file) for every data file of one format."""
    return [
        (folder.name, path)
        for folder in sorted(p for p in root.iterdir() if p.is_dir())
        for path in sorted((folder / fmt).glob("*.json*"))
        if path.name != "dataset_info.json"
    ]


def image_tokens(input_ids, processor) -> int:
    """How many images the encoded batch holds, from its image tokens (image_seq_len per image)."""
    token = processor.tokenizer.convert_tokens_to_ids("<image>")
    return int((input_ids == token).sum()) // processor.image_seq_len


def trl_loader(work: Path):
    from datasets import Image, List, load_dataset
    from trl.data_utils import prepare_multimodal_messages
    from trl.trainer.dpo_trainer import DataCollatorForVisionPreference
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    processor = answerer_processor()

    def load(path: Path) -> tuple[int, int]:
        os.chdir(path.parent)  # TRL's Image() opens relative paths from the working directory
        stage = path.stem.split("_")[0]
        dataset = load_dataset("json", data_files=str(path), split="train")
        dataset = dataset.cast_column("images", List(Image()))
        loaded = images = 0
        for start in range(0, len(dataset), BATCH):
            rows = [dataset[i] for i in range(start, min(start + BATCH, len(dataset)))]
            expected = sum(len(row["images"]) for row in rows)
            if stage == "sft":
                batch = DataCollatorForVisionLanguageModeling(processor)(rows)
                found = image_tokens(batch["input_ids"], processor)
            elif stage == "dpo":
                batch = DataCollatorForVisionPreference(processor)(rows)
                found = image_tokens(batch["input_ids"], processor) // 2  # the prompt twice: chosen, rejected
            else:  # GRPO: the prompt through the chat template and the processor, as its trainer does
                found = 0
                for row in rows:
                    messages = prepare_multimodal_messages(row["prompt"], row["images"])
                    text = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
                    encoded = processor(images=row["images"], text=text, return_tensors="pt")
                    found += image_tokens(encoded["input_ids"], processor)
            if found != expected:
                raise AssertionError(f"{found} images in the encoded batch, {expected} in its rows")
            loaded, images = loaded + len(rows), images + found
        return loaded, images

    return "trl", load, version("trl")


def qwen2_vl_processor(folder: Path, tokenizer):
    """The tiny Qwen2-VL's processor with its video slot left empty: transformers builds no video
    processor without torchvision, and PyPI has no torchvision for CPU torch 2.13."""
    from transformers import Qwen2VLProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    class ImageOnly(Qwen2VLProcessor):
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    config = json.loads((folder / "processor_config.json").read_text())["image_processor"]
    config.pop("image_processor_type")
    return ImageOnly(Qwen2VLImageProcessorPil(**config), tokenizer, chat_template=tokenizer.chat_template)


def llamafactory_loader(work: Path):
    """LLaMA-Factory's get_dataset (dataset_dir + the dataset_info.json names, template qwen2_vl), then the
    collators its SFT and DPO workflows build."""
    import types

    # its mm_plugin imports torchaudio (for audio only); PyPI's torchaudio does not load with torch 2.13
    sys.modules["torchaudio"] = audio = types.ModuleType("torchaudio")
    audio.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)  # find_spec asks for one
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.data.collator import MultiModalDataCollatorForSeq2Seq, PairwiseDataCollatorWithPadding
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    tiny_qwen = work / "tiny_qwen2_vl"

    def load(path: Path) -> tuple[int, int]:
        ranking = path.stem == "dpo"
        info = json.loads((path.parent / "dataset_info.json").read_text())
        (name,) = [n for n, entry in info.items() if entry["file_name"] == path.name]
        model_args, data_args, training_args, *_ = get_train_args(
            {
                "model_name_or_path": str(tiny_qwen),
                "template": "qwen2_vl",
                "stage": "dpo" if ranking else "sft",
                "do_train": True,
                "dataset_dir": str(path.parent),  # media_dir left unset: it defaults to dataset_dir
                "dataset": name,
                "output_dir": str(path.parent.parent / "llamafactory_out"),
                "report_to": "none",
                "use_cpu": True,
                "overwrite_cache": True,
            }
        )
        tokenizer = load_tokenizer(model_args)["tokenizer"]
        processor = qwen2_vl_processor(tiny_qwen, tokenizer)
        template = get_template_and_fix_tokenizer(tokenizer, data_args)
        stage = "rm" if ranking else "sft"  # its DPO workflow loads pairs as stage "rm"
        module = get_dataset(template, model_args, data_args, training_args, stage, tokenizer, processor)
        dataset = module["train_dataset"]
        collator_class = PairwiseDataCollatorWithPadding if ranking else MultiModalDataCollatorForSeq2Seq
        collate = collator_class(template=template, tokenizer=tokenizer, processor=processor, model=None)
        images = 0
        for start in range(0, len(dataset), BATCH):
            rows = [dataset[i] for i in range(start, min(start + BATCH, len(dataset)))]
            listed = sum(len(row["images"]) for row in rows) * (2 if ranking else 1)  # chosen, rejected
            batch = collate(rows)
            if batch["image_grid_thw"].shape[0] != listed:
                raise AssertionError(f"{batch['image_grid_thw'].shape[0]} images encoded, {listed} listed")
            images += len(batch["image_grid_thw"]) // (2 if ranking else 1)
        return len(dataset), images

    return "llamafactory", load, version("llamafactory")


def swift_loader(work: Path):
    """ms-swift's load_dataset, then template.encode of every row (train mode for SFT, rlhf for DPO),
    with its idefics3 template around builtin:answerer's processor."""
    from swift.dataset import load_dataset
    from swift.model import get_processor
    from swift.template import get_template

    template = get_template(get_processor(str(ANSWERER)), template_type="idefics3")

    def load(path: Path) -> tuple[int, int]:
        os.chdir(path.parent)  # ms-swift opens relative paths from the working directory
        template.set_mode("rlhf" if path.stem == "dpo" else "train")
        dataset, _ = load_dataset([str(path)])
        images = 0
        for row in dataset:
            encoded = template.encode(row)
            # the image count the processor saw (its idefics3 template expands the image tokens of
            # Idefics3-8B's vocabulary only, so the answerer's are not a measure)
            pixels = [v for k, v in encoded.items() if k.endswith("pixel_values")]
            encoded_images = {p.shape[1] for p in pixels}  # DPO: chosen and rejected
            if encoded_images != {len(row["images"])}:
                raise AssertionError(f"{encoded_images} images encoded, {len(row['images'])} listed")
            images += encoded_images.pop()
        return len(dataset), images

    return "swift", load, version("ms-swift")


def easyr1_loader(work: Path):
    """EasyR1's RLHFDataset (its source on PYTHONPATH), once per prompt key it may be configured with."""
    import types

    # verl.utils.dataset imports qwen_vl_utils for videos only, and qwen_vl_utils imports torchvision,
    # which PyPI has for no CPU torch 2.13 (`torchvision::nms does not exist`). The exports hold no video.
    def no_video(*args, **kwargs):
        raise NotImplementedError("no video here")

    stub = types.ModuleType("qwen_vl_utils.vision_process")
    stub.fetch_video = no_video
    sys.modules.update({"qwen_vl_utils": types.ModuleType("qwen_vl_utils"), stub.__name__: stub})
    from verl.utils.dataset import RLHFDataset

    processor = answerer_processor()

    def load(path: Path) -> tuple[int, int]:
        relative = not Path(json.loads(path.read_text().splitlines()[0])["images"][0]).is_absolute()
        counts = set()
        for prompt_key in ("problem", "prompt"):
            dataset = RLHFDataset(
                str(path),
                processor.tokenizer,
                processor,
                prompt_key=prompt_key,
                image_dir=str(path.parent) if relative else None,  # what docs/exports.md says to set
                max_prompt_length=2048,  # EasyR1's examples/config.yaml data defaults from here on
                min_pixels=262144,
                max_pixels=4194304,
                filter_overlong_prompts_workers=1,
            )
            rows = [dataset[i] for i in range(len(dataset))]
            images = sum(len(row["multi_modal_data"]["images"]) for row in rows)
            tokens = sum(image_tokens(row["input_ids"], processor) for row in rows)
            if tokens != images:
                raise AssertionError(f"prompt_key {prompt_key}: {tokens} images encoded, {images} listed")
            counts.add((len(rows), images))
        if len(counts) != 1:
            raise AssertionError(f"prompt keys problem and prompt load differently: {sorted(counts)}")
        return counts.pop()

    import verl

    return "easyr1", load, f"verl {verl.__version__}"


LOADERS = {
    "trl": trl_loader,
    "llamafactory": llamafactory_loader,
    "ms-swift": swift_loader,
    "easyr1": easyr1_loader,
}


def run_check(consumer: str, work: Path) -> None:
    """Print one JSON line per export file, with the consumer's error where it failed on one."""
    fmt, load, found = LOADERS[consumer](work)
    for name, path in export_files(work / "exports", fmt):
        result = {"consumer": consumer, "version": found, "set": name, "file": f"{fmt}/{path.name}"}
        result["rows"] = rows_in(path)
        try:
            result["loaded"], result["images"] = load(path)
        except Exception as error:
            result["error"] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
        print("RESULT " + json.dumps(result), flush=True)


# -- run in the project's venv ---------------------------------------------------------------------------
def make_inputs(work: Path) -> None:
    """The exports, and a tiny Qwen2-VL folder for LLaMA-Factory (its templates have no Idefics3)."""
    if not (work / "tiny_qwen2_vl").exists():
        from scotoma.models.tiny import build_tiny_vlm, save_tiny_vlm

        save_tiny_vlm(*build_tiny_vlm("qwen2_vl", ["yes", "no"]), work / "tiny_qwen2_vl")
    root = work / "exports"
    for folder, args in EXPORTS.items():
        if not (root / folder / "metrics.json").exists():
            command = [sys.executable, "-m", "scotoma.cli", "synth", *args[:1], "--out", str(root / folder)]
            subprocess.run([*command, *args[1:]], check=True, cwd=REPO)


def install(work: Path, consumer: str) -> Path:
    """A venv for the consumer under work; returns its python."""
    venv = work / "venvs" / consumer
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    log = work / f"install_{consumer}.log"
    print(f"installing {consumer} into {venv} (log: {log})", flush=True)
    with log.open("w") as out:
        pip = [str(python), "-m", "pip"]
        subprocess.run([*pip, "install", TORCH, *INSTALLS[consumer]], check=True, stdout=out, stderr=out)
        if consumer in UNINSTALLS:
            command = [*pip, "uninstall", "-y", *UNINSTALLS[consumer]]
            subprocess.run(command, check=True, stdout=out, stderr=out)
    return python


def check(python: Path, consumer: str, work: Path, easyr1: Path | None) -> list[dict]:
    """Run this file's --check in the consumer's interpreter; its RESULT lines, its log beside them."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if consumer == "easyr1":
        env["PYTHONPATH"] = str(easyr1)
    log = work / f"check_{consumer}.log"
    command = [str(python), __file__, "--check", consumer, "--work", str(work)]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    log.write_text(done.stdout + done.stderr)
    results = [json.loads(line[7:]) for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not results:
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        results = [{"consumer": consumer, "file": "(all)", "error": f"{error[:200]} (see {log})"}]
    return results


def table(results: list[dict]) -> str:
    head = ("consumer", "version", "export", "file", "rows", "loaded", "images", "result")
    keys = ("consumer", "version", "set", "file", "rows", "loaded", "images")
    lines = [head]
    for r in results:
        passed = "error" not in r and r["loaded"] == r["rows"]
        verdict = "pass" if passed else "FAIL " + r.get("error", f"{r['rows'] - r['loaded']} rows lost")
        lines.append((*(str(r.get(k, "")) for k in keys), verdict))
    widths = [max(len(line[i]) for line in lines) for i in range(len(keys))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)) + "  " + line[-1]
        for line in lines
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--work", type=Path, help="folder for exports and venvs (default: a new temp dir)")
    parser.add_argument("--easyr1", type=Path, help="a checkout of github.com/hiyouga/EasyR1 (else skipped)")
    parser.add_argument("--consumers", default="trl,llamafactory,ms-swift,easyr1")
    parser.add_argument("--skip-install", action="store_true", help="reuse the venvs under --work")
    parser.add_argument("--check", help=argparse.SUPPRESS)  # set when this file runs inside a venv
    args = parser.parse_args()
    if args.check:
        run_check(args.check, args.work)
        return
    work = (args.work or Path(tempfile.mkdtemp(prefix="export_consumers_"))).resolve()
    print(f"work folder (exports, venvs, logs): {work}")
    make_inputs(work)
    results = []
    for consumer in args.consumers.split(","):
        if consumer == "easyr1" and args.easyr1 is None:
            print("easyr1 skipped: pass --easyr1 with a checkout of hiyouga/EasyR1", flush=True)
            continue
        if consumer == "trl":
            python = Path(sys.executable)
        elif args.skip_install:
            python = work / "venvs" / consumer / "bin" / "python"
        else:
            python = install(work, consumer)
        print(f"loading the exports with {consumer}", flush=True)
        results += check(python, consumer, work, args.easyr1 and args.easyr1.resolve())
    print(table(results))


if __name__ == "__main__":
    main()
