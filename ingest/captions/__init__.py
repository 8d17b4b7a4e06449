"""Captions: distribution to subfigure labels, scale statements, keywords and hierarchical labels."""

from ingest.captions.distribute import Distribution, distribute_caption

__all__ = ["Distribution", "distribute_caption"]
