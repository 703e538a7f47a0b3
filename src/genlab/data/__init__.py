"""Data: synthetic targets, images, vision data sets, corruptions (the DIP degradations: genlab.physics)."""
