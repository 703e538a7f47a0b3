"""Data: synthetic targets, images, vision data sets, corruptions, degradations."""
