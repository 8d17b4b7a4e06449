"""Embeddings: encoders, Lance vector tables and search (arrives with the search issue)."""
