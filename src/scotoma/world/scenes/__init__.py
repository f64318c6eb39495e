"""Scenes of the shapes world and their pictures: scene graphs and geometry, NLVR1-exact rendering,
the NLVR1 dev split, the boxes behind an image, exact captions, and the planted scotomas (scene
transforms)."""
