"""Catalog: the lake's schemas, atomic table writes, DuckDB views and read-only SQL."""
