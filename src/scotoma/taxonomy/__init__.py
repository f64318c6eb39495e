"""The failure taxonomy of paper 000 (section 3.3, Figure 4): primitive skills per question -> pooled,
deduplicated, BERTopic topics -> LLM-named skills -> LLM meta-skills; and the analyses over skills
(section 4.3-4.7: coverage, exclusive skills, combinations, density over training, hard and
model-specific skills). In the world, deterministic stand-ins play the model stages and the exact program
skills measure how well the taxonomy recovers them (`measure_world_recovery`)."""

from scotoma.taxonomy.analyses import (
    Density,
    ExclusiveSkill,
    Rate,
    SkillRow,
    covered_skills,
    exclusive_skills,
    failure_rate,
    fdr_curve,
    mean_skill_failure_rate,
    meta_skill_density,
    meta_skill_failure_rates,
    meta_skill_profile,
    number_of_skills,
    skill_counts,
    skill_coverage,
    skill_failure_rates,
    skills_per_question,
    unique_skill_combinations,
)
from scotoma.taxonomy.cluster import ClusterConfig, Clusters, cluster
from scotoma.taxonomy.dedupe import Dedupe, dedupe, pool_primitives
from scotoma.taxonomy.labels import SkillLabels, merge_labels, name_topics, normalize_label
from scotoma.taxonomy.landscape import Landscape, LandscapeRow, failure_landscape, landscapes
from scotoma.taxonomy.meta import MetaSkills, group_skills, parse_meta
from scotoma.taxonomy.pipeline import build_taxonomy
from scotoma.taxonomy.primitives import (
    TaxonomyQuestion,
    identify_primitives,
    load_prompt,
    parse_primitives,
    question_id,
)
from scotoma.taxonomy.recovery import occurrence_recovery, question_recovery
from scotoma.taxonomy.result import EMBEDDINGS_FILE, Taxonomy, TaxonomyConfig, write_taxonomy_run
from scotoma.taxonomy.runs import taxonomy_for_runs
from scotoma.taxonomy.stand_in import StandIn, StandInPrimitives, measure_world_recovery, world_questions
from scotoma.taxonomy.store import CachedEmbedder, StageStore

__all__ = [
    "EMBEDDINGS_FILE",
    "CachedEmbedder",
    "ClusterConfig",
    "Clusters",
    "Dedupe",
    "Density",
    "ExclusiveSkill",
    "Landscape",
    "LandscapeRow",
    "MetaSkills",
    "Rate",
    "SkillLabels",
    "SkillRow",
    "StageStore",
    "StandIn",
    "StandInPrimitives",
    "Taxonomy",
    "TaxonomyConfig",
    "TaxonomyQuestion",
    "build_taxonomy",
    "cluster",
    "covered_skills",
    "dedupe",
    "exclusive_skills",
    "failure_landscape",
    "failure_rate",
    "fdr_curve",
    "group_skills",
    "identify_primitives",
    "landscapes",
    "load_prompt",
    "mean_skill_failure_rate",
    "measure_world_recovery",
    "merge_labels",
    "meta_skill_density",
    "meta_skill_failure_rates",
    "meta_skill_profile",
    "name_topics",
    "normalize_label",
    "number_of_skills",
    "occurrence_recovery",
    "parse_meta",
    "parse_primitives",
    "pool_primitives",
    "question_id",
    "question_recovery",
    "skill_counts",
    "skill_coverage",
    "skill_failure_rates",
    "skills_per_question",
    "taxonomy_for_runs",
    "unique_skill_combinations",
    "world_questions",
    "write_taxonomy_run",
]
