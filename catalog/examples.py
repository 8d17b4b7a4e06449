"""Example queries over the lake, shown by `figlake summary` and in the README (tested there)."""

EXAMPLE_QUERIES: list[tuple[str, str]] = [
    (
        "Figures per journal and year",
        "SELECT a.journal, a.year, count(*) AS figures "
        "FROM figures f JOIN articles a USING (article_id) GROUP BY ALL ORDER BY figures DESC",
    ),
    (
        "Figures whose caption mentions HAADF-STEM, with their image size",
        "SELECT figure_id, width, height, left(caption, 60) AS caption "
        "FROM figures WHERE caption ILIKE '%HAADF%' ORDER BY figure_id",
    ),
    (
        "What may be redistributed: figures per licence",
        "SELECT coalesce(license_spdx, 'unknown') AS license, count(*) AS figures "
        "FROM figures GROUP BY ALL ORDER BY figures DESC",
    ),
]
