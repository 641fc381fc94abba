"""Brazil's School Census (INEP microdata): the column spec across years, the safe zip and CSV reader, and the
per-year panel kept as Parquet (queried with DuckDB) with the small aggregates the web reads from SQL.

`store.load_year(path, year)` takes a published zip (or a bare CSV dropped in by hand) to storage; the download
and the job around it live in `jobs.census`.
"""
