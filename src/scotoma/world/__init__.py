"""The shapes world: NLVR1-style scenes, their images, question programs with an exact oracle, and a
balanced question sampler. The embedded default of every scotoma job (see docs/architecture.md, "The world").

    >>> from scotoma.world import QuestionConfig, QuestionSampler, judge
    >>> sample = QuestionSampler(QuestionConfig(images_per_sample=3), seed=0).sample(0)
    >>> judge(sample.question, sample.scene).answer == sample.answer
    True

Three functions keep their module's name and are imported from there, so that the package attribute
stays the module: `scotoma.world.programs.language.render` (program -> English),
`scotoma.world.programs.parse.parse` (English -> program) and `scotoma.world.programs.nodes.skills` (a
program's skills).
"""

from scotoma.world.programs.answers import is_correct, normalize_answer
from scotoma.world.programs.language import RenderError, answer_vocabulary, variants, world_vocabulary
from scotoma.world.programs.nodes import (
    Compare,
    Count,
    CountCompare,
    Difference,
    Exists,
    Filter,
    FirstAppearance,
    ImagesContaining,
    Program,
    ProgramError,
    Quantified,
    QueryAttribute,
    Relate,
    Relation,
    SizeCompare,
    Statement,
    Sum,
    Towers,
    WhatChanged,
    WhichImage,
)
from scotoma.world.programs.oracle import InvalidQuestion, Verdict, evaluate, judge
from scotoma.world.programs.parse import ParseError
from scotoma.world.programs.skills import FAMILIES, FAMILY_SKILLS, SKILLS
from scotoma.world.sampling.dataset import load_sample, read_samples, save_images, write_samples
from scotoma.world.sampling.generate import SceneSampler
from scotoma.world.sampling.generate_sets import AttributeChange, SceneSample, SequenceStep, SharedObject
from scotoma.world.sampling.questions import QuestionConfig, QuestionSampler
from scotoma.world.sampling.random_programs import SamplingConfig, random_program, random_valid_program
from scotoma.world.sampling.records import WorldSample, program_text
from scotoma.world.sampling.specs import BoxConstraints, ObjectSpec, SamplingError, SceneConfig
from scotoma.world.scenes.captions import caption_box, caption_scene
from scotoma.world.scenes.nlvr import NLVRDataError, NLVRExample, load_nlvr1
from scotoma.world.scenes.render import (
    box_image_ref,
    box_png,
    png_bytes,
    render_box,
    render_strip,
    strip_image_ref,
)
from scotoma.world.scenes.scene import (
    BOX_SIZE,
    COLORS,
    MAX_OBJECTS,
    SHAPES,
    SIZE_WORDS,
    SIZES,
    Box,
    Scene,
    SceneError,
    WorldObject,
)

__all__ = [
    "BOX_SIZE", "COLORS", "FAMILIES", "FAMILY_SKILLS", "MAX_OBJECTS", "SHAPES", "SIZES", "SIZE_WORDS",
    "SKILLS", "AttributeChange", "Box", "BoxConstraints", "Compare", "Count", "CountCompare", "Difference",
    "Exists", "Filter", "FirstAppearance", "ImagesContaining", "InvalidQuestion", "NLVRDataError",
    "NLVRExample", "ObjectSpec", "ParseError", "Program", "ProgramError", "Quantified", "QueryAttribute",
    "QuestionConfig", "QuestionSampler", "Relate", "Relation", "RenderError", "SamplingConfig",
    "SamplingError", "Scene", "SceneConfig", "SceneError", "SceneSample", "SceneSampler", "SequenceStep",
    "SharedObject", "SizeCompare", "Statement", "Sum", "Towers", "Verdict", "WhatChanged", "WhichImage",
    "WorldObject", "WorldSample", "answer_vocabulary", "box_image_ref", "box_png", "caption_box",
    "caption_scene", "evaluate", "is_correct", "judge", "load_nlvr1", "load_sample", "normalize_answer",
    "png_bytes", "program_text", "random_program", "random_valid_program", "read_samples", "render_box",
    "render_strip", "save_images", "strip_image_ref", "variants", "world_vocabulary", "write_samples",
]  # fmt: skip
