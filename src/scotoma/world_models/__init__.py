"""The built-in world models: how `builtin:answerer` and `builtin:questioner` are pretrained on the
shapes world (task curriculum, data and collator, vision supervision, the training loop, checkpoints,
evaluation, learning-curve plot, shipping), and the shipped models themselves under `shipped/`.
The CLI is `scotoma world train-answerer | train-questioner | eval-model | ship-model`
(`scotoma.cli.world_models`)."""
