"""Sampling and generation in the shapes world: seeded scenes and sets of boxes (`generate`,
`generate_sets`, `specs`), random and balanced question programs (`random_programs`, `questions`,
`balance`, `targeted`), and generated sets on disk (`records`, `dataset`)."""
