"""Ingest: sources of articles and the per-item extractors the stages map over."""
